// Focus: the CUDA engine reproduces transformers' outputs on every golden model within bf16's own
// error (max(2 x bf16_vs_fp32_rel_err_logits_full, 2e-2)): one uncached pass (cuBLAS prefill path),
// prefill + one-token decode steps (GEMV path, absorbed MLA, CUDA graph), short multi-token steps,
// top-k expert sets (>= 95% of tokens), the same pass through `moescope forward --backend cuda`, the
// fused prefill attention kernel, the plain decode path (--no-fast-kernels --no-device-capture and
// none of the second round's), the second round's paths at a long context and the first round's
// (cases 1-6 run the defaults: fast kernels, device capture and the second round's paths), and the
// prefill paths not yet the default (--grouped-prefill, --flash-prefill) against the golden, the
// default path and the CPU engine, and --warp-topk's routing.
#include <gtest/gtest.h>

#include <map>
#include <span>

#include "core/engine.h"
#include "core/model.h"
#include "gpu/cuda_engine.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using test::kGoldenModels;

struct TopkCapture : ForwardObserver {
  std::map<int32_t, std::vector<int32_t>> ids;  // layer -> (T, k), first step only
  void on_routing(const RoutingEvent& e) override {
    if (e.step == 0) ids[e.layer].assign(e.topk_ids.begin(), e.topk_ids.end());
  }
};

class CudaGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MOESCOPE_REQUIRE_GPU();
    model_ = load_model(test::golden_model(GetParam()));
    golden_ = std::make_unique<test::GoldenFile>(test::open_golden(GetParam()));
    tolerance_ = test::cuda_logits_tolerance(GetParam());
    EngineOptions options;
    options.backend = Backend::cuda;
    options.max_context = 64;
    engine_ = make_cuda_engine(*model_, options);
  }
  std::unique_ptr<Model> model_;
  std::unique_ptr<test::GoldenFile> golden_;
  std::unique_ptr<Engine> engine_;
  double tolerance_ = 0;
};

// 1. One uncached pass over the 52 generated ids.
TEST_P(CudaGolden, UncachedLogitsMatchLogitsFull) {
  const auto ids = golden_->i32("generated_ids");
  std::vector<float> logits;
  engine_->forward(ids, true, logits);
  const double err = test::relative_error(logits, golden_->f32("logits_full"));
  EXPECT_LE(err, tolerance_) << GetParam();
  std::printf("[ golden  ] %-22s uncached rel_err %.5f (bound %.4f)\n", GetParam().c_str(), err, tolerance_);
}

// 2. Prefill the 40-token prompt, then decode the 12 generated tokens one step at a time.
TEST_P(CudaGolden, PrefillThenDecodeStepsMatchLogitsFull) {
  const auto ids = golden_->i32("generated_ids");
  const size_t prompt = 40;
  std::vector<float> all, step;
  engine_->forward(std::span(ids).first(prompt), true, all);
  for (size_t t = prompt; t < ids.size(); ++t) {
    engine_->forward(std::span(ids).subspan(t, 1), true, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  EXPECT_EQ(engine_->position(), static_cast<int64_t>(ids.size()));
  const double err = test::relative_error(all, golden_->f32("logits_full"));
  EXPECT_LE(err, tolerance_) << GetParam();
  std::printf("[ golden  ] %-22s prefill+decode rel_err %.5f\n", GetParam().c_str(), err);
}

// 3. Steps of 1..4 tokens (every GEMV width) after a reset reach the same logits.
TEST_P(CudaGolden, MixedStepSizesMatchLogitsFull) {
  const auto ids = golden_->i32("generated_ids");
  engine_->reset();
  std::vector<float> all, step;
  size_t t = 0;
  for (size_t width = 1; t < ids.size(); width = width % 4 + 1) {
    const size_t n = std::min(width, ids.size() - t);
    engine_->forward(std::span(ids).subspan(t, n), true, step);
    all.insert(all.end(), step.begin(), step.end());
    t += n;
  }
  const double err = test::relative_error(all, golden_->f32("logits_full"));
  EXPECT_LE(err, tolerance_) << GetParam();
}

// 4. Top-k expert sets of the prompt agree with the reference's chosen experts over all (token,
// layer) pairs, the measure of golden.json's bf16_topk_set_agreement.
TEST_P(CudaGolden, TopkSetsAgreeWithReference) {
  const auto ids = golden_->i32("input_ids");
  TopkCapture capture;
  engine_->set_observer(&capture);
  std::vector<float> logits;
  engine_->forward(ids, false, logits);
  engine_->set_observer(nullptr);
  ASSERT_FALSE(capture.ids.empty());
  std::vector<int32_t> got_all, ref_all;
  for (const auto& [layer, got] : capture.ids) {
    const auto ref = golden_->f32("gate_out2." + std::to_string(layer));
    got_all.insert(got_all.end(), got.begin(), got.end());
    ref_all.insert(ref_all.end(), ref.begin(), ref.end());
  }
  const double agreement = test::topk_set_agreement(got_all, ref_all, engine_->config().top_k);
  EXPECT_GE(agreement, 0.95) << GetParam();
  std::printf("[ golden  ] %-22s top-k set agreement %.4f\n", GetParam().c_str(), agreement);
}

// 5. The CLI path: `moescope forward --backend cuda` writes logits that match.
TEST_P(CudaGolden, ForwardVerbWithCudaBackendMatches) {
  const auto ids = golden_->i32("generated_ids");
  std::string csv;
  for (size_t i = 0; i < ids.size(); ++i) csv += (i ? "," : "") + std::to_string(ids[i]);
  const auto out = test::scratch_dir("cuda-forward-" + GetParam()) / "out.safetensors";
  const auto result = test::run_command(
      test::moescope_binary().string() + " forward --backend cuda --model " +
      test::golden_model(GetParam()).string() + " --token-ids " + csv + " --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto file = open_safetensors(out);
  std::vector<float> got;
  for (size_t i = 0; i < file->header.tensors.size(); ++i) {
    if (file->header.tensors[i].name != "logits") continue;
    const TensorView view = file->view(i);
    got.resize(static_cast<size_t>(view.numel()));
    convert_to_f32(view, 0, view.numel(), got.data());
  }
  ASSERT_FALSE(got.empty()) << "no logits tensor in " << out;
  EXPECT_LE(test::relative_error(got, golden_->f32("logits_full")), tolerance_);
}

// 6. The fused prefill attention kernel (--fused-attention): one uncached pass, then the sequence in
// two prefill steps, so the second step's queries attend to cached positions as well as its own.
TEST_P(CudaGolden, FusedAttentionMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 64;
  options.fused_attention = true;
  const auto engine = make_cuda_engine(*model_, options);
  const auto ids = golden_->i32("generated_ids");
  const auto want = golden_->f32("logits_full");
  std::vector<float> all, step;
  engine->forward(ids, true, all);
  const double uncached = test::relative_error(all, want);
  EXPECT_LE(uncached, tolerance_) << GetParam() << " uncached";
  engine->reset();
  const size_t first = 20;
  engine->forward(std::span(ids).first(first), true, all);
  engine->forward(std::span(ids).subspan(first), true, step);
  all.insert(all.end(), step.begin(), step.end());
  const double two_steps = test::relative_error(all, want);
  EXPECT_LE(two_steps, tolerance_) << GetParam() << " two prefill steps";
  std::printf("[ golden  ] %-22s fused attention rel_err %.5f uncached, %.5f in two steps\n",
              GetParam().c_str(), uncached, two_steps);
}

// Prefill, one-token graph steps with full instrumentation on, then steps of 1..4 tokens after a
// reset, on an engine of `options`; both errors against logits_full, printed under `label`.
void check_decode_paths(const Model& model, const test::GoldenFile& golden, const EngineOptions& options,
                        double tolerance, const std::string& name, const char* label) {
  const auto engine = make_cuda_engine(model, options);
  const auto ids = golden.i32("generated_ids");
  const auto want = golden.f32("logits_full");
  TopkCapture capture;
  engine->set_observer(&capture);
  const size_t prompt = 40;
  std::vector<float> all, step;
  engine->forward(std::span(ids).first(prompt), true, all);
  for (size_t t = prompt; t < ids.size(); ++t) {
    engine->forward(std::span(ids).subspan(t, 1), true, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  const double decode_err = test::relative_error(all, want);
  EXPECT_LE(decode_err, tolerance) << name << " prefill+decode";
  EXPECT_FALSE(capture.ids.empty());
  engine->set_observer(nullptr);
  engine->reset();
  all.clear();
  size_t t = 0;
  for (size_t width = 1; t < ids.size(); width = width % 4 + 1) {
    const size_t n = std::min(width, ids.size() - t);
    engine->forward(std::span(ids).subspan(t, n), true, step);
    all.insert(all.end(), step.begin(), step.end());
    t += n;
  }
  const double mixed_err = test::relative_error(all, want);
  EXPECT_LE(mixed_err, tolerance) << name << " mixed widths";
  std::printf("[ golden  ] %-22s %s rel_err %.5f prefill+decode, %.5f mixed widths\n", name.c_str(), label,
              decode_err, mixed_err);
}

// 7. The plain kernels and per-layer routing copies (the default before issue 16).
TEST_P(CudaGolden, PlainKernelsMatchLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 64;
  options.fast_kernels = false;
  options.device_capture = false;
  options.fused_experts = false;
  options.context_splits = false;
  options.fused_routing = false;
  options.programmatic_launch = false;
  check_decode_paths(*model_, *golden_, options, tolerance_, GetParam(), "plain kernels");
}

// 8. Issue 16's second round (the defaults: --fused-experts --context-splits --fused-routing --pdl)
// at a context of 4096, where the fixed decode chunk would be 128 positions: these 41..52-key steps
// would use one split, and with --context-splits use 3-4.
TEST_P(CudaGolden, SecondRoundPathsAtLongContextMatchLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 4096;
  check_decode_paths(*model_, *golden_, options, tolerance_, GetParam(), "second round");
}

// 9. The first round's decode path (--no-fused-experts --no-context-splits --no-fused-routing --no-pdl).
TEST_P(CudaGolden, FirstRoundPathMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 4096;
  options.fused_experts = false;
  options.context_splits = false;
  options.fused_routing = false;
  options.programmatic_launch = false;
  check_decode_paths(*model_, *golden_, options, tolerance_, GetParam(), "first round");
}

// 10. --fast-merge (not yet the default) on the second round's paths at a 4096 context.
TEST_P(CudaGolden, FastMergeMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 4096;
  options.fast_merge = true;
  check_decode_paths(*model_, *golden_, options, tolerance_, GetParam(), "fast merge");
}

// 13. --warp-topk (not yet the default): every token routed by one warp, at prefill (route kernel) and
// decode (fused router), at a 4096 context.
TEST_P(CudaGolden, WarpTopkMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 4096;
  options.warp_topk = true;
  check_decode_paths(*model_, *golden_, options, tolerance_, GetParam(), "warp top-k");
}

// An uncached pass, then the sequence in two prefill steps (the second attends to cached positions as
// well as its own), on an engine of `options`: each against logits_full, against the default CUDA
// prefill path and against the CPU reference engine, all within the golden's bound.
void check_prefill_path(const Model& model, const test::GoldenFile& golden, const EngineOptions& options,
                        double tolerance, const std::string& name, const char* label) {
  const auto ids = golden.i32("generated_ids");
  const auto want = golden.f32("logits_full");
  std::vector<float> got, step, default_path, cpu;
  EngineOptions defaults;
  defaults.backend = Backend::cuda;
  defaults.max_context = options.max_context;
  make_cuda_engine(model, defaults)->forward(ids, true, default_path);
  make_cpu_engine(model, EngineOptions{})->forward(ids, true, cpu);

  const auto engine = make_cuda_engine(model, options);
  engine->forward(ids, true, got);
  const double uncached = test::relative_error(got, want);
  EXPECT_LE(uncached, tolerance) << name << " " << label << " uncached";
  const double vs_default = test::relative_error(got, default_path);
  EXPECT_LE(vs_default, tolerance) << name << " " << label << " against the default path";
  const double vs_cpu = test::relative_error(got, cpu);
  EXPECT_LE(vs_cpu, tolerance) << name << " " << label << " against the CPU engine";
  engine->reset();
  const size_t first = 20;
  engine->forward(std::span(ids).first(first), true, got);
  engine->forward(std::span(ids).subspan(first), true, step);
  got.insert(got.end(), step.begin(), step.end());
  const double two_steps = test::relative_error(got, want);
  EXPECT_LE(two_steps, tolerance) << name << " " << label << " two prefill steps";
  std::printf("[ golden  ] %-22s %s rel_err %.5f uncached, %.5f in two steps; %.5f vs default, %.5f vs cpu\n",
              name.c_str(), label, uncached, two_steps, vs_default, vs_cpu);
}

// 11. --grouped-prefill: the routed experts' prefill GEMMs as cuBLAS grouped GEMMs (not yet the default).
TEST_P(CudaGolden, GroupedPrefillMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 64;
  options.grouped_prefill = true;
  check_prefill_path(*model_, *golden_, options, tolerance_, GetParam(), "grouped prefill");
}

// 12. --flash-prefill: prefill attention as FlashAttention-2 tiles (not yet the default), alone and
// with --grouped-prefill and --fast-prefill-kernels.
TEST_P(CudaGolden, FlashPrefillMatchesLogitsFull) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.max_context = 64;
  options.flash_prefill = true;
  check_prefill_path(*model_, *golden_, options, tolerance_, GetParam(), "flash prefill");
  options.grouped_prefill = true;
  options.fast_prefill_kernels = true;
  check_prefill_path(*model_, *golden_, options, tolerance_, GetParam(), "all prefill paths");
}

INSTANTIATE_TEST_SUITE_P(AllModels, CudaGolden, ::testing::ValuesIn(kGoldenModels), [](const auto& info) {
  std::string name = info.param;
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
});

}  // namespace
}  // namespace moescope
