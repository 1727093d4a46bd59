// Focus: expert offloading on the CUDA engine (EngineOptions::offload_experts, gpu/expert_offload.h).
// Routed experts live in pinned host memory and `slots` of them per MoE layer in a GPU cache run by
// core/expert_cache.h. The offloaded forward runs the resident forward's kernels over cache slots, so
// decode steps whose experts fit the cache give bit-identical logits (cases 1, 4); fewer slots than a
// step's experts run in rounds whose combine sums in another order (case 2, fp32 rounding); the
// counters equal an ExpertCache simulation over the routing the engine reported (case 3).
// Cases 5-7 run without a GPU: the offload plan, the cap too small for the non-expert part, and host
// memory that cannot be pinned.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <span>

#include "core/engine.h"
#include "core/error.h"
#include "core/expert_cache.h"
#include "core/model.h"
#include "core/model_config.h"
#include "core/model_fp8.h"
#include "gpu/cuda_engine.h"
#include "gpu/expert_offload.h"
#include "gpu/memory_budget.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct OffloadRecord : ForwardObserver {
  std::vector<OffloadEvent> events;
  std::map<std::pair<int64_t, int32_t>, std::vector<int32_t>> ids;  // (step, layer) -> (T, k)
  void on_offload(const OffloadEvent& e) override { events.push_back(e); }
  void on_routing(const RoutingEvent& e) override { ids[{e.step, e.layer}].assign(e.topk_ids.begin(), e.topk_ids.end()); }
};

EngineOptions cuda_options(int32_t slots) {
  EngineOptions o;
  o.backend = Backend::cuda;
  o.max_context = 64;
  o.instrumentation = InstrumentLevel::counts;
  if (slots > 0) {
    o.offload_experts = true;
    o.expert_cache_slots = slots;
  }
  return o;
}

// Every id as its own one-token step: all logits.
std::vector<float> one_token_steps(Engine& engine, std::span<const int32_t> ids) {
  std::vector<float> all, step;
  engine.reset();
  for (size_t t = 0; t < ids.size(); ++t) {
    engine.forward(ids.subspan(t, 1), true, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

class CudaOffload : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MOESCOPE_REQUIRE_GPU();
    model_ = load_model(test::golden_model(GetParam()));
    ids_ = test::open_golden(GetParam()).i32("generated_ids");
  }
  std::unique_ptr<Model> model_;
  std::vector<int32_t> ids_;
};

// 1. top_k slots per layer: every decode step's experts fit, so the offloaded logits are the
// resident ones bit for bit.
TEST_P(CudaOffload, DecodeWithTopkSlotsEqualsResidentExactly) {
  const int32_t k = static_cast<int32_t>(model_->config.top_k);
  auto resident = make_cuda_engine(*model_, cuda_options(0));
  auto offloaded = make_cuda_engine(*model_, cuda_options(k));
  EXPECT_NE(offloaded->info().weights.find("experts offloaded"), std::string::npos) << offloaded->info().weights;
  const auto want = one_token_steps(*resident, ids_);
  const auto got = one_token_steps(*offloaded, ids_);
  ASSERT_EQ(got.size(), want.size());
  size_t differing = 0;
  for (size_t i = 0; i < got.size(); ++i) differing += got[i] != want[i];
  EXPECT_EQ(differing, 0u) << GetParam();
  std::printf("[ offload ] %-22s %d slots: %zu of %zu logits differ from resident\n", GetParam().c_str(), k, differing,
              got.size());
}

// 2. One slot (fewer than top_k): rounds of one expert; prefill and decode within fp32 rounding of
// the resident engine, and the same experts chosen.
TEST_P(CudaOffload, OneSlotRunsInRoundsWithinRounding) {
  auto resident = make_cuda_engine(*model_, cuda_options(0));
  auto offloaded = make_cuda_engine(*model_, cuda_options(1));
  OffloadRecord record;
  offloaded->set_observer(&record);
  std::vector<float> want, got, step;
  for (Engine* engine : {resident.get(), offloaded.get()}) {
    std::vector<float>& out = engine == resident.get() ? want : got;
    engine->forward(std::span(ids_).first(40), true, out);
    for (size_t t = 40; t < ids_.size(); ++t) {
      engine->forward(std::span(ids_).subspan(t, 1), true, step);
      out.insert(out.end(), step.begin(), step.end());
    }
  }
  const double err = test::relative_error(got, want);
  EXPECT_LE(err, 1e-3) << GetParam();
  // One slot holds one expert: of a decode step's top_k experts at most one hits, each other one is
  // copied in its own round.
  const int64_t expert_bytes = cuda_expert_bytes(model_->config);
  int64_t decode_events = 0;
  for (const OffloadEvent& e : record.events) {
    if (e.step == 0) continue;
    ++decode_events;
    EXPECT_EQ(e.lookups, model_->config.top_k);
    EXPECT_LE(e.hits, 1);
    EXPECT_EQ(e.bytes_copied, (e.lookups - e.hits) * expert_bytes);
  }
  EXPECT_GT(decode_events, 0);
  std::printf("[ offload ] %-22s 1 slot: prefill+decode rel_err %.2e vs resident\n", GetParam().c_str(), err);
}

// 3. The counters: per step and MoE layer, lookups are the distinct experts chosen, hits those an
// LRU cache of the same size holds, and every miss copies one expert's bytes.
TEST_P(CudaOffload, CountersEqualAnExpertCacheSimulation) {
  const int32_t slots = static_cast<int32_t>(model_->config.top_k);
  auto engine = make_cuda_engine(*model_, cuda_options(slots));
  OffloadRecord record;
  engine->set_observer(&record);
  one_token_steps(*engine, ids_);
  engine->set_observer(nullptr);
  ASSERT_FALSE(record.events.empty());
  const int64_t expert_bytes = cuda_expert_bytes(model_->config);
  std::map<int32_t, ExpertCache> caches;
  int64_t hits = 0, lookups = 0;
  for (const OffloadEvent& e : record.events) {
    auto it = caches.try_emplace(e.layer, CachePolicy::lru, slots, static_cast<int32_t>(model_->config.n_routed_experts))
                  .first;
    std::vector<int32_t> distinct;
    for (int32_t id : record.ids.at({e.step, e.layer}))
      if (std::find(distinct.begin(), distinct.end(), id) == distinct.end()) distinct.push_back(id);
    // The engine looks up all of a step's experts before it evicts any, so it never evicts one the
    // step still needs (a lookup-by-lookup replay, as the what-if's, can): the same protocol here.
    ExpertCache& cache = it->second;
    int32_t want_hits = 0;
    std::vector<int32_t> keep;
    for (int32_t id : distinct)
      if (cache.lookup(id)) ++want_hits, keep.push_back(id);
    for (int32_t id : distinct) {
      if (std::find(keep.begin(), keep.end(), id) != keep.end()) continue;
      const int32_t victim = cache.victim(keep);
      if (victim >= 0) cache.evict(victim);
      cache.insert(id);
      keep.push_back(id);
    }
    EXPECT_EQ(e.lookups, static_cast<int32_t>(distinct.size())) << "step " << e.step << " layer " << e.layer;
    EXPECT_EQ(e.hits, want_hits) << "step " << e.step << " layer " << e.layer;
    EXPECT_EQ(e.bytes_copied, (e.lookups - e.hits) * expert_bytes);
    EXPECT_GE(e.copy_us, 0.0);
    hits += e.hits;
    lookups += e.lookups;
  }
  EXPECT_GT(hits, 0);
  EXPECT_LT(hits, lookups);
  std::printf("[ offload ] %-22s %d slots: hit rate %.3f over %lld lookups\n", GetParam().c_str(), slots,
              static_cast<double>(hits) / static_cast<double>(lookups), static_cast<long long>(lookups));
}

INSTANTIATE_TEST_SUITE_P(AllModels, CudaOffload, ::testing::ValuesIn(test::kGoldenModels), [](const auto& info) {
  std::string name = info.param;
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
});

// 4. fp8 weights offloaded: the cache slots hold e4m3 values with their scales, bit-identical
// decode to the resident fp8 engine.
TEST(CudaOffloadFp8, Fp8ExpertsOffloadedEqualResidentFp8) {
  MOESCOPE_REQUIRE_GPU();
  auto model = load_model(test::golden_model("deepseek-v3-tiny"));
  quantize_weights_fp8(*model);
  const auto ids = test::open_golden("deepseek-v3-tiny").i32("generated_ids");
  EngineOptions resident = cuda_options(0), offloaded = cuda_options(static_cast<int32_t>(model->config.top_k));
  resident.fp8_weights = offloaded.fp8_weights = true;
  const auto want = one_token_steps(*make_cuda_engine(*model, resident), ids);
  const auto got = one_token_steps(*make_cuda_engine(*model, offloaded), ids);
  EXPECT_EQ(got, want);
}

// Mixtral-8x7B's config.json with 16 of its 32 layers (as `bench --synthetic mixtral-8x7b --layers 16`).
ModelConfig mixtral_16_layers() {
  return parse_model_config(R"({"model_type":"mixtral","vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,
      "num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":32768,
      "rms_norm_eps":1e-5,"rope_theta":1000000.0,"num_local_experts":8,"num_experts_per_tok":2,
      "tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})",
                            "mixtral-8x7b (16 layers)");
}

// 5. Mixtral-8x7B's shape, 16 layers, under 12 GB: the non-expert part and as many 352 MB experts
// per layer as fit, the rest pinned on the host.
TEST(CudaOffloadPlan, MixtralUnderTwelveGigabytes) {
  const ModelConfig c = mixtral_16_layers();
  EngineOptions options;
  options.max_context = 256;
  const gpu::DeviceMemoryBudget budget = gpu::plan_device_memory(c, options);
  const int64_t cap = int64_t{12} << 30;
  ASSERT_GT(budget.total(), cap);
  const gpu::OffloadBudget plan = gpu::plan_expert_offload(c, options, budget, cap, true);
  EXPECT_EQ(plan.expert_bytes, int64_t{3} * 4096 * 14336 * 2);
  EXPECT_EQ(plan.host_bytes, 16 * 8 * plan.expert_bytes);
  EXPECT_EQ(plan.resident_bytes, budget.total() - plan.host_bytes);
  EXPECT_EQ(plan.slots, (cap - plan.resident_bytes) / (16 * plan.expert_bytes));
  EXPECT_GE(plan.slots, 1);
  EXPECT_LE(plan.resident_bytes + plan.cache_bytes, cap);
  options.expert_cache_slots = 1;
  EXPECT_EQ(gpu::plan_expert_offload(c, options, budget, cap, true).slots, 1);
}

// 6. A cap below the non-expert part plus one slot per layer: one line naming the sizes.
TEST(CudaOffloadPlan, CapBelowTheNonExpertPartIsRefused) {
  const ModelConfig c = mixtral_16_layers();
  EngineOptions options;
  options.max_context = 256;
  const gpu::DeviceMemoryBudget budget = gpu::plan_device_memory(c, options);
  try {
    gpu::plan_expert_offload(c, options, budget, int64_t{2} << 30, true);
    FAIL() << "expected a ResourceError";
  } catch (const ResourceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("non-expert part needs"), std::string::npos) << what;
    EXPECT_NE(what.find("2.00 GiB are free under the memory cap"), std::string::npos) << what;
    EXPECT_NE(what.find("16 x 336.00 MiB"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

// 7. Host memory that cannot be pinned (here 2^60 bytes; without a GPU CUDA refuses any): one line
// naming the size and CUDA's reason.
TEST(CudaOffloadPlan, UnpinnableHostMemoryIsRefusedNamingTheSize) {
  try {
    gpu::pin_expert_memory(size_t{1} << 60);
    FAIL() << "expected a ResourceError";
  } catch (const ResourceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("expert offloading: cannot pin 1073741824.00 GiB of host memory for the routed experts"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope
