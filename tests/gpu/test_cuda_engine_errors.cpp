// Focus: the CUDA engine fails with one clear line: no GPU ("no CUDA GPU: <CUDA's reason>"), a
// model that does not fit (bytes needed vs free, honouring memory_cap_bytes), an unknown
// interconnect for expert parallelism, bad token ids and a full context; these run with or without
// a GPU where they can.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/model.h"
#include "gpu/cuda_engine.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

// 1. Without a usable GPU, construction says so, with CUDA's own reason.
TEST(CudaEngineErrors, NoGpuIsAResourceErrorNamingCudasReason) {
  const std::string why = test::cuda_unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "a GPU is present: this case is for machines without one";
  auto model = load_model(test::golden_model("mixtral-tiny"));
  try {
    make_cuda_engine(*model, EngineOptions{});
    FAIL() << "expected ResourceError";
  } catch (const ResourceError& e) {
    EXPECT_EQ(std::string(e.what()), "no CUDA GPU: " + why);
  }
}

// 2. A model over the memory cap: the message names both byte counts. The cap is checked before the
//    GPU is touched, so this runs on machines without one too.
TEST(CudaEngineErrors, ModelOverMemoryCapNamesBytesNeededAndFree) {
  auto model = load_model(test::golden_model("deepseek-v3-tiny"));
  EngineOptions options;
  options.memory_cap_bytes = 100000;
  try {
    make_cuda_engine(*model, options);
    FAIL() << "expected ResourceError";
  } catch (const ResourceError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
    EXPECT_NE(msg.find("100000 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs "), std::string::npos) << msg;
    EXPECT_NE(msg.find("are free under the memory cap"), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("model does not fit on CUDA device 0: needs ", 0), 0u) << msg;
  }
}

// 3. Expert parallelism over an unknown interconnect: an InputError naming it, before the GPU is
//    touched (so this too runs without one).
TEST(CudaEngineErrors, UnknownInterconnectIsAnInputError) {
  auto model = load_model(test::golden_model("mixtral-tiny"));
  EngineOptions options;
  options.ep_degree = 2;
  options.ep_interconnect = "carrier-pigeon";
  try {
    make_cuda_engine(*model, options);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown interconnect \"carrier-pigeon\""), std::string::npos)
        << e.what();
  }
}

// 4. Token ids outside the vocabulary and contexts over capacity are InputErrors, engine unharmed.
TEST(CudaEngineErrors, BadTokensAndFullContextAreInputErrors) {
  MOESCOPE_REQUIRE_GPU();
  auto model = load_model(test::golden_model("qwen3-moe-tiny"));
  EngineOptions options;
  options.max_context = 8;
  auto engine = make_cuda_engine(*model, options);
  std::vector<float> logits;
  const std::vector<int32_t> bad = {1, 99999};
  EXPECT_THROW(engine->forward(bad, false, logits), InputError);
  const std::vector<int32_t> nine(9, 5);
  EXPECT_THROW(engine->forward(nine, false, logits), InputError);
  const std::vector<int32_t> ok = {1, 2, 3};
  engine->forward(ok, false, logits);
  EXPECT_EQ(logits.size(), static_cast<size_t>(model->config.vocab_size));
  EXPECT_EQ(engine->position(), 3);
}

}  // namespace
}  // namespace moescope
