// Focus: what the CUDA engine reserves when it is created (weights, KV cache, decode workspace with
// emulated EP's exchange buffers),
// computed on the host so a model over the memory cap is refused before any GPU is touched. These
// run without a GPU.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/model_config.h"
#include "gpu/cuda_engine.h"
#include "gpu/kernels.h"
#include "gpu/memory_budget.h"
#include "tests/support/test_paths.h"

namespace moescope::gpu {
namespace {

ModelConfig golden_config(const char* model) {
  return load_model_config(test::golden_model(model) / "config.json");
}

TEST(MemoryBudget, Case1_GqaCacheHoldsKeysAndValuesInBf16) {
  const ModelConfig c = golden_config("mixtral-tiny");
  EngineOptions options;
  options.max_context = 64;
  const DeviceMemoryBudget budget = plan_device_memory(c, options);
  EXPECT_EQ(budget.context, 64);
  EXPECT_EQ(budget.weight_bytes, cuda_weight_bytes(c));
  EXPECT_EQ(budget.kv_layer_bytes, int64_t{2} * c.num_kv_heads * c.head_dim * 2 * 64);
  EXPECT_EQ(budget.kv_bytes, budget.kv_layer_bytes * c.num_layers);
  EXPECT_GT(budget.workspace_bytes, 0);
  EXPECT_EQ(budget.total(), budget.weight_bytes + budget.kv_bytes + budget.workspace_bytes);
}

TEST(MemoryBudget, Case2_MlaCachesTheLatentAndContextIsCappedByTheModel) {
  const ModelConfig c = golden_config("deepseek-v3-tiny");
  ASSERT_TRUE(c.use_mla);
  EngineOptions options;
  options.max_context = int64_t{1} << 40;  // more than the model allows
  const DeviceMemoryBudget budget = plan_device_memory(c, options);
  EXPECT_EQ(budget.context, c.max_position_embeddings);
  EXPECT_EQ(budget.kv_layer_bytes, (c.kv_lora_rank + c.qk_rope_head_dim) * 2 * c.max_position_embeddings);
  EXPECT_EQ(budget.splits * budget.decode_chunk >= budget.context, true);
}

TEST(MemoryBudget, Case3_FitsUpToTheLastByte) {
  const ModelConfig c = golden_config("qwen3-moe-tiny");
  const DeviceMemoryBudget budget = plan_device_memory(c, EngineOptions{});
  EXPECT_NO_THROW(require_fits(budget, budget.total(), true, "CUDA device 0"));
  try {
    require_fits(budget, budget.total() - 1, true, "CUDA device 0");
    FAIL() << "one byte short was accepted";
  } catch (const ResourceError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(
        msg.rfind("model does not fit on CUDA device 0: needs " + std::to_string(budget.total()) + " bytes (",
                  0),
        0u)
        << msg;
    EXPECT_NE(msg.find("but " + std::to_string(budget.total() - 1) + " bytes ("), std::string::npos) << msg;
    EXPECT_NE(msg.find(") are free under the memory cap"), std::string::npos) << msg;
    EXPECT_NE(msg.find(" positions, workspace "), std::string::npos) << msg;
  }
}

TEST(MemoryBudget, Case4_EmulatedExpertParallelismReservesItsExchangeBuffers) {
  const ModelConfig c = golden_config("mixtral-tiny");
  EngineOptions options;
  options.max_context = 64;
  const int64_t plain = plan_device_memory(c, options).workspace_bytes;
  options.ep_degree = 4;
  const int64_t with_ep = plan_device_memory(c, options).workspace_bytes;
  // Send and receive blocks of T*k rows of hidden bf16 for the decode workspace's T tokens, plus
  // four (R, R) int32 tables; the planner may round each buffer up for alignment.
  const int64_t buffers = 2 * kMaxDecodeTokens * c.top_k * c.hidden_size * 2 + 4 * 16 * 4;
  EXPECT_GE(with_ep - plain, buffers);
  EXPECT_LE(with_ep - plain, buffers + 6 * 256);
}

}  // namespace
}  // namespace moescope::gpu
