// Focus: next-layer prefetch of offloaded experts (EngineOptions::offload_prefetch). Prefetching
// changes where and when experts are copied, never what is computed: with top_k slots per layer
// every decode step runs in one round over the same bytes, so the logits equal those without
// prefetch bit for bit (case 1). The prefetch's counters are consistent and it is used: some
// lookups hit an expert it copied ahead, never more than it copied or than the hits (case 2).
// Skipped without a GPU; written without one, first run by tools/gpu_check.sh.
#include <gtest/gtest.h>

#include <span>

#include "core/engine.h"
#include "core/model.h"
#include "gpu/cuda_engine.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct PrefetchEvents : ForwardObserver {
  std::vector<OffloadEvent> events;
  void on_offload(const OffloadEvent& e) override { events.push_back(e); }
};

EngineOptions offload_options(int32_t slots, bool prefetch) {
  EngineOptions o;
  o.backend = Backend::cuda;
  o.max_context = 64;
  o.instrumentation = InstrumentLevel::counts;
  o.offload_experts = true;
  o.expert_cache_slots = slots;
  o.offload_prefetch = prefetch;
  return o;
}

// A prefill of 8 tokens, then every later id as its own decode step: all logits.
std::vector<float> decode_logits(Engine& engine, std::span<const int32_t> ids) {
  std::vector<float> all, step;
  engine.reset();
  engine.forward(ids.first(8), true, all);
  for (size_t t = 8; t < ids.size(); ++t) {
    engine.forward(ids.subspan(t, 1), true, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

class CudaOffloadPrefetch : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MOESCOPE_REQUIRE_GPU();
    model_ = load_model(test::golden_model(GetParam()));
    ids_ = test::open_golden(GetParam()).i32("generated_ids");
  }
  std::unique_ptr<Model> model_;
  std::vector<int32_t> ids_;
};

// 1 and 2.
TEST_P(CudaOffloadPrefetch, SameLogitsAndCountedPrefetchHits) {
  const int32_t k = static_cast<int32_t>(model_->config.top_k);
  auto plain = make_cuda_engine(*model_, offload_options(k, false));
  auto ahead = make_cuda_engine(*model_, offload_options(k, true));
  EXPECT_NE(ahead->info().weights.find("next-layer prefetch"), std::string::npos) << ahead->info().weights;
  PrefetchEvents record;
  ahead->set_observer(&record);
  const auto want = decode_logits(*plain, ids_);
  const auto got = decode_logits(*ahead, ids_);
  ahead->set_observer(nullptr);
  ASSERT_EQ(got.size(), want.size());
  size_t differing = 0;
  for (size_t i = 0; i < got.size(); ++i) differing += got[i] != want[i];
  EXPECT_EQ(differing, 0u) << GetParam();

  int64_t prefetched = 0, prefetch_hits = 0, lookups = 0;
  for (const OffloadEvent& e : record.events) {
    EXPECT_LE(e.prefetch_hits, e.hits) << "step " << e.step << " layer " << e.layer;
    EXPECT_LE(e.prefetch_hits, e.prefetched) << "step " << e.step << " layer " << e.layer;
    EXPECT_LE(e.prefetched, k) << "a decode step predicts top_k experts of one token";
    if (e.step == 0) EXPECT_EQ(e.prefetched, 0) << "the prefill does not prefetch";
    prefetched += e.prefetched;
    prefetch_hits += e.prefetch_hits;
    lookups += e.lookups;
  }
  EXPECT_GT(prefetched, 0);
  EXPECT_GT(prefetch_hits, 0) << "the next router on the current hidden state never predicted a used expert";
  std::printf("[ offload ] %-22s %d slots, prefetch: %lld copied ahead, %lld used (%.3f), %.3f of %lld lookups\n",
              GetParam().c_str(), k, static_cast<long long>(prefetched), static_cast<long long>(prefetch_hits),
              prefetched ? static_cast<double>(prefetch_hits) / static_cast<double>(prefetched) : 0.0,
              lookups ? static_cast<double>(prefetch_hits) / static_cast<double>(lookups) : 0.0,
              static_cast<long long>(lookups));
}

INSTANTIATE_TEST_SUITE_P(AllModels, CudaOffloadPrefetch, ::testing::ValuesIn(test::kGoldenModels),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace moescope
