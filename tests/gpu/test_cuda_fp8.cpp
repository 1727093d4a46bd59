// Focus: fp8 weights kept as fp8 on the GPU (`--weights fp8`, EngineOptions::fp8_weights). Each
// golden model's bf16 weights are converted at load to e4m3 with 128x128 block scales
// (core/model_fp8.h, the code `--weights fp8` runs), which makes it an fp8 golden: the CPU engine's
// fp32 result over exactly those fp8 values is the reference. The CUDA engine must match it within
// 2e-2 relative error on the logits and choose the same top-k expert sets for >= 97 % of (token,
// layer) pairs, on the prefill path (fp8 rows dequantised into bf16 tiles, cuBLAS) and the decode
// path (fp8 GEMV kernels). deepseek-v3-tiny is the exception: its bf16 activations alone move its
// logits by 10 % (golden.json's bf16_vs_fp32_rel_err_logits_full, 0.103; the bf16 CUDA engine's
// top-k agreement with fp32 is 0.96), so it is held to that error and to the golden tests' 0.95.
// Cases 5-6 run without a GPU: the memory budget counts fp8 bytes and scales.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <span>

#include "core/engine.h"
#include "core/error.h"
#include "core/model.h"
#include "core/model_fp8.h"
#include "gpu/cuda_engine.h"
#include "gpu/memory_budget.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

constexpr double kFp8Tolerance = 2e-2;
constexpr double kFp8TopkAgreement = 0.97;

// The bars, or for a model whose bf16 activations alone exceed 2e-2 that error and 0.95.
double fp8_tolerance(const std::string& model) {
  return std::max(kFp8Tolerance, test::cuda_logits_tolerance(model) / 2);
}
double fp8_topk_bound(const std::string& model) {
  return fp8_tolerance(model) > kFp8Tolerance ? 0.95 : kFp8TopkAgreement;
}

struct Fp8TopkCapture : ForwardObserver {
  std::map<std::pair<int64_t, int32_t>, std::vector<int32_t>> ids;  // (step, layer) -> (T, k)
  void on_routing(const RoutingEvent& e) override { ids[{e.step, e.layer}].assign(e.topk_ids.begin(), e.topk_ids.end()); }
  std::vector<int32_t> all() const {
    std::vector<int32_t> out;
    for (const auto& [key, v] : ids) out.insert(out.end(), v.begin(), v.end());
    return out;
  }
};

// The prompt as one prefill step, then each generated token as a decode step: all logits and the
// chosen experts.
void run_steps(Engine& engine, std::span<const int32_t> ids, size_t prompt, std::vector<float>& logits,
               Fp8TopkCapture& capture) {
  engine.reset();
  engine.set_observer(&capture);
  std::vector<float> step;
  engine.forward(ids.first(prompt), true, logits);
  for (size_t t = prompt; t < ids.size(); ++t) {
    engine.forward(ids.subspan(t, 1), true, step);
    logits.insert(logits.end(), step.begin(), step.end());
  }
  engine.set_observer(nullptr);
}

class CudaFp8 : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MOESCOPE_REQUIRE_GPU();
    model_ = load_model(test::golden_model(GetParam()));
    ASSERT_GT(quantize_weights_fp8(*model_), 0);
    EngineOptions cpu;
    cpu.max_context = 64;
    reference_ = make_cpu_engine(*model_, cpu);
    EngineOptions cuda = cpu;
    cuda.backend = Backend::cuda;
    cuda.fp8_weights = true;
    engine_ = make_cuda_engine(*model_, cuda);
    ids_ = test::open_golden(GetParam()).i32("generated_ids");
  }
  std::unique_ptr<Model> model_;
  std::unique_ptr<Engine> reference_, engine_;
  std::vector<int32_t> ids_;
};

// 1. One uncached pass (prefill: fp8 rows dequantised into bf16 tiles, cuBLAS).
TEST_P(CudaFp8, UncachedLogitsMatchCpuFp8Reference) {
  std::vector<float> want, got;
  reference_->forward(ids_, true, want);
  engine_->forward(ids_, true, got);
  const double err = test::relative_error(got, want);
  EXPECT_LE(err, fp8_tolerance(GetParam())) << GetParam();
  std::printf("[ fp8     ] %-22s uncached rel_err %.5f vs the CPU fp8 reference (bound %.3f)\n", GetParam().c_str(), err,
              fp8_tolerance(GetParam()));
}

// 2. Prefill of 40 tokens, then one-token decode steps (fp8 GEMV kernels in the decode graph): logits
// and every step's top-k expert sets.
TEST_P(CudaFp8, PrefillThenDecodeMatchesCpuFp8Reference) {
  std::vector<float> want, got;
  Fp8TopkCapture want_ids, got_ids;
  run_steps(*reference_, ids_, 40, want, want_ids);
  run_steps(*engine_, ids_, 40, got, got_ids);
  const double err = test::relative_error(got, want);
  EXPECT_LE(err, fp8_tolerance(GetParam())) << GetParam();
  const double agreement = test::topk_set_agreement(got_ids.all(), want_ids.all(), engine_->config().top_k);
  EXPECT_GE(agreement, fp8_topk_bound(GetParam())) << GetParam();
  std::printf("[ fp8     ] %-22s prefill+decode rel_err %.5f, top-k set agreement %.4f\n", GetParam().c_str(), err,
              agreement);
}

// 3. Steps of 2..4 tokens (the GEMV kernels' other widths).
TEST_P(CudaFp8, MultiTokenStepsMatchCpuFp8Reference) {
  std::vector<float> want, got, step;
  reference_->forward(ids_, true, want);
  for (size_t t = 0, width = 2; t < ids_.size(); width = width % 4 + 1) {
    const size_t n = std::min(width, ids_.size() - t);
    engine_->forward(std::span(ids_).subspan(t, n), true, step);
    got.insert(got.end(), step.begin(), step.end());
    t += n;
  }
  EXPECT_LE(test::relative_error(got, want), fp8_tolerance(GetParam())) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(AllModels, CudaFp8, ::testing::ValuesIn(test::kGoldenModels),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// 4. A model whose weights are not fp8 cannot be run with fp8_weights: one line naming the tensor.
TEST(CudaFp8Errors, UnquantisedModelIsRefusedNamingTheTensor) {
  MOESCOPE_REQUIRE_GPU();
  auto model = load_model(test::golden_model("mixtral-tiny"));
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 16;
  options.fp8_weights = true;
  try {
    make_cuda_engine(*model, options);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("F8_E4M3"), std::string::npos) << what;
    EXPECT_NE(what.find("'model.layers.0."), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// 5. One routed expert of DeepSeek-V3's shape: e4m3 values plus one f32 per 128x128 block, as
// docs/offload.md counts it (3 x 7168 x 2048 + (32 x 56 + 56 x 16) x 4 = 44,050,944 bytes), half
// of bf16's.
TEST(CudaFp8Budget, ExpertBytesCountValuesAndBlockScales) {
  ModelConfig c = load_model_config(test::golden_model("deepseek-v3-tiny") / "config.json");
  c.hidden_size = 7168;
  c.moe_intermediate_size = 2048;
  EXPECT_EQ(cuda_expert_bytes(c, true), int64_t{3} * 7168 * 2048 + (32 * 56 + 56 * 16) * 4);
  EXPECT_EQ(cuda_expert_bytes(c, false), int64_t{3} * 7168 * 2048 * 2);
}

// 6. The budget of an fp8 engine: fp8 weights (less than bf16's, more than half of it: scales and the
// embeddings, head and router kept in bf16) plus the prefill dequantisation tile.
TEST(CudaFp8Budget, BudgetCountsFp8WeightsAndTheDequantisationTile) {
  const ModelConfig c = load_model_config(test::golden_model("deepseek-v3-tiny") / "config.json");
  EngineOptions stored, fp8;
  fp8.fp8_weights = true;
  const gpu::DeviceMemoryBudget a = gpu::plan_device_memory(c, stored), b = gpu::plan_device_memory(c, fp8);
  EXPECT_EQ(b.weight_bytes, cuda_weight_bytes(c, true));
  EXPECT_LT(b.weight_bytes, a.weight_bytes);
  EXPECT_GT(2 * b.weight_bytes, a.weight_bytes);
  EXPECT_EQ(b.workspace_bytes, a.workspace_bytes + gpu::kFp8TileElements * 2);
}

}  // namespace
}  // namespace moescope
