// Focus: the expert cache (core/expert_cache.h) and the offload what-if built on it
// (core/analysis/offload_whatif.h). Hand-worked sequences fix each policy's choice of victim; on
// random traces every policy's hit count equals a straightforward simulation written here
// independently (linear scans, the future searched forward), and belady hits at least as often as
// lru and lfu at every cache size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "core/analysis/cache_stack.h"
#include "core/analysis/offload_whatif.h"
#include "core/error.h"
#include "core/expert_cache.h"
#include "tests/support/expert_cache_reference.h"

namespace moescope {
namespace {

struct Replay {
  int64_t hits = 0;
  std::vector<int32_t> evicted;  // per lookup, -1 on a hit or a free slot
};

Replay replay(CachePolicy policy, int32_t capacity, int32_t n_experts, const std::vector<int32_t>& sequence) {
  ExpertCache cache(policy, capacity, n_experts);
  if (policy == CachePolicy::belady) cache.set_future(sequence);
  Replay out;
  for (int32_t expert : sequence) {
    CacheAccess access = cache.access(expert);
    out.hits += access.hit;
    out.evicted.push_back(access.evicted);
    EXPECT_LE(cache.size(), capacity);
    EXPECT_TRUE(cache.contains(expert));
  }
  return out;
}

int64_t reference_hits(CachePolicy policy, int32_t capacity, int32_t n_experts,
                       const std::vector<int32_t>& seq) {
  return test::reference_cache_hits(std::string(cache_policy_name(policy)), capacity, n_experts, seq);
}

// 1. LRU on 0 1 0 2 1 0 with two slots: 2 evicts 1 (0 was used since), 1 evicts 0, 0 evicts 2.
TEST(ExpertCache, LruEvictsTheLeastRecentlyUsed) {
  Replay r = replay(CachePolicy::lru, 2, 4, {0, 1, 0, 2, 1, 0});
  EXPECT_EQ(r.hits, 1);
  EXPECT_EQ(r.evicted, (std::vector<int32_t>{-1, -1, -1, 1, 0, 2}));
}

// 2. LFU on the same sequence: 2 evicts 1 (one use against 0's two), 1 evicts 2 (one use against
// two), so 0 stays and the last lookup hits.
TEST(ExpertCache, LfuEvictsTheLeastFrequentlyUsed) {
  Replay r = replay(CachePolicy::lfu, 2, 4, {0, 1, 0, 2, 1, 0});
  EXPECT_EQ(r.hits, 2);
  EXPECT_EQ(r.evicted, (std::vector<int32_t>{-1, -1, -1, 1, 2, -1}));
}

// 3. LFU counts survive eviction and ties go to the least recent: 0 0 0 1 2 0 keeps 0 (three uses)
// where LRU drops it.
TEST(ExpertCache, LfuCountsOutliveEviction) {
  EXPECT_EQ(replay(CachePolicy::lfu, 2, 3, {0, 0, 0, 1, 2, 0}).hits, 3);
  EXPECT_EQ(replay(CachePolicy::lru, 2, 3, {0, 0, 0, 1, 2, 0}).hits, 2);
  // 1 and 2 both used once: the tie evicts 1, the older.
  EXPECT_EQ(replay(CachePolicy::lfu, 2, 3, {1, 2, 0}).evicted.back(), 1);
}

// 4. Belady on 0 1 0 2 1 0: 2 evicts 0 (next used at 5, after 1 at 4); then 0 evicts 1, which is
// never used again (ties among never-again experts go to the lowest id).
TEST(ExpertCache, BeladyEvictsTheFarthestNextUse) {
  Replay r = replay(CachePolicy::belady, 2, 4, {0, 1, 0, 2, 1, 0});
  EXPECT_EQ(r.hits, 2);
  EXPECT_EQ(r.evicted, (std::vector<int32_t>{-1, -1, -1, 0, -1, 1}));
}

// 5. A cycle one longer than the cache defeats LRU and LFU entirely; belady keeps one of the two.
TEST(ExpertCache, CycleLongerThanTheCache) {
  const std::vector<int32_t> cycle = {0, 1, 2, 0, 1, 2};
  EXPECT_EQ(replay(CachePolicy::lru, 2, 3, cycle).hits, 0);
  EXPECT_EQ(replay(CachePolicy::lfu, 2, 3, cycle).hits, 0);
  EXPECT_EQ(replay(CachePolicy::belady, 2, 3, cycle).hits, 2);
}

// 6. The step-by-step API an engine drives: lookup, victim, evict, insert.
TEST(ExpertCache, StepByStepApi) {
  ExpertCache cache(CachePolicy::lru, 2, 4);
  EXPECT_EQ(cache.victim(), -1);
  EXPECT_FALSE(cache.lookup(3));
  cache.insert(3);
  EXPECT_FALSE(cache.lookup(1));
  cache.insert(1);
  EXPECT_EQ(cache.victim(), 3);
  EXPECT_TRUE(cache.lookup(3));
  EXPECT_EQ(cache.victim(), 1);
  EXPECT_THROW(cache.insert(2), InputError);  // full
  EXPECT_THROW(cache.insert(3), InputError);  // already cached
  cache.evict(1);
  EXPECT_THROW(cache.evict(1), InputError);
  cache.insert(2);  // a prefetch counts as a use: 3 is now the older
  EXPECT_EQ(cache.victim(), 3);
  EXPECT_EQ(cache.cached(), (std::vector<int32_t>{2, 3}));
}

// 6b. An engine keeps the experts its kernels still read: victim(keep) passes over them in policy
// order (LFU here), and has none to give when all are kept.
TEST(ExpertCache, VictimPassesOverKeptExperts) {
  ExpertCache cache(CachePolicy::lfu, 3, 6);
  for (int32_t e : {0, 0, 0, 1, 1, 2}) cache.access(e);  // counts 3, 2, 1
  EXPECT_EQ(cache.victim(), 2);
  const std::vector<int32_t> keep_two = {2}, keep_all = {0, 1, 2};
  EXPECT_EQ(cache.victim(keep_two), 1);
  EXPECT_EQ(cache.victim(keep_all), -1);
  cache.evict(0);
  EXPECT_EQ(cache.victim(keep_all), -1);  // a slot is free
}

// 7. Bad sizes, ids and oracle use: one InputError each.
TEST(ExpertCache, RejectsBadInput) {
  EXPECT_THROW(ExpertCache(CachePolicy::lru, 0, 8), InputError);
  EXPECT_THROW(ExpertCache(CachePolicy::lru, 9, 8), InputError);
  ExpertCache lru(CachePolicy::lru, 2, 8);
  EXPECT_THROW(lru.lookup(8), InputError);
  EXPECT_THROW(lru.lookup(-1), InputError);
  const std::vector<int32_t> future = {1, 2};
  EXPECT_THROW(lru.set_future(future), InputError);
  ExpertCache belady(CachePolicy::belady, 2, 8);
  belady.set_future(future);
  EXPECT_THROW(belady.lookup(2), InputError);  // the recorded future says 1 first
  ExpertCache past(CachePolicy::belady, 2, 8);
  past.set_future(future);
  past.access(1);
  past.access(2);
  EXPECT_THROW(past.lookup(1), InputError);  // beyond the recorded future
  EXPECT_FALSE(parse_cache_policy("fifo").has_value());
  EXPECT_EQ(parse_cache_policy("belady"), CachePolicy::belady);
}

// Uniform, or Zipf-like skewed (expert popularity ~ 1/(rank+1)^s), as real routing is.
std::vector<int32_t> random_sequence(std::mt19937& rng, int32_t n_experts, size_t length, double skew) {
  std::vector<double> weights(n_experts);
  for (int32_t e = 0; e < n_experts; ++e) weights[e] = 1.0 / std::pow(e + 1.0, skew);
  std::discrete_distribution<int32_t> pick(weights.begin(), weights.end());
  std::vector<int32_t> seq;
  for (size_t i = 0; i < length; ++i) seq.push_back(pick(rng));
  return seq;
}

// 8. On random traces each policy equals the reference at every size, and belady is the best.
TEST(ExpertCache, MatchesReferenceAndBeladyIsBestOnRandomTraces) {
  std::mt19937 rng(17);
  for (double skew : {0.0, 0.8, 1.5}) {
    for (int32_t n_experts : {4, 16, 64}) {
      const std::vector<int32_t> seq = random_sequence(rng, n_experts, 600, skew);
      for (int32_t capacity = 1; capacity <= n_experts; ++capacity) {
        int64_t hits[3];
        for (CachePolicy policy : kAllCachePolicies) {
          const int64_t h = replay(policy, capacity, n_experts, seq).hits;
          EXPECT_EQ(h, reference_hits(policy, capacity, n_experts, seq))
              << cache_policy_name(policy) << " C=" << capacity << " E=" << n_experts << " skew=" << skew;
          hits[static_cast<int>(policy)] = h;
        }
        EXPECT_GE(hits[2], hits[0]) << "C=" << capacity << " E=" << n_experts;
        EXPECT_GE(hits[2], hits[1]) << "C=" << capacity << " E=" << n_experts;
      }
    }
  }
}

// The one-pass stack (analysis/cache_stack.h) gives, at every size, the hits of a cache of that
// size (which the test above holds to the independent reference), for every policy, on uniform and skewed traces and on
// cycles (which defeat LRU), including a cache as large as the layer.
TEST(CacheStack, HitsAtEverySizeEqualOneSimulationPerSize) {
  std::mt19937 rng(29);
  std::vector<std::vector<int32_t>> sequences;
  for (double skew : {0.0, 0.8, 1.5}) {
    for (int32_t n_experts : {4, 16, 64}) sequences.push_back(random_sequence(rng, n_experts, 300, skew));
  }
  std::vector<int32_t> cycle;
  for (int32_t i = 0; i < 200; ++i) cycle.push_back(i % 9);
  sequences.push_back(cycle);
  for (const auto& seq : sequences) {
    const int32_t n_experts = *std::max_element(seq.begin(), seq.end()) + 1;
    for (CachePolicy policy : kAllCachePolicies) {
      const std::vector<int64_t> hits = analysis::cache_hits_at_every_size(policy, n_experts, seq);
      ASSERT_EQ(hits.size(), static_cast<size_t>(n_experts));
      for (int32_t capacity = 1; capacity <= n_experts; ++capacity) {
        EXPECT_EQ(hits[static_cast<size_t>(capacity - 1)], replay(policy, capacity, n_experts, seq).hits)
            << cache_policy_name(policy) << " C=" << capacity << " E=" << n_experts;
      }
    }
  }
  EXPECT_THROW(analysis::cache_hits_at_every_size(CachePolicy::lru, 4, std::vector<int32_t>{1, 4}), InputError);
}

// 9. Lookup sequence: per layer, (step, position, rank) order, once per step. Two steps of two
// tokens, top-2: step 0 names 3 1 | 1 2, step 1 names 2 3 | 0 2 -> 3 1 2 | 2 3 0.
TEST(OffloadWhatIf, LookupSequenceCountsEachExpertOncePerStep) {
  analysis::RoutingArrays a;
  a.n_tokens = 4;
  a.n_layers = 2;
  a.n_experts = 4;
  a.top_k = 2;
  a.layer_ids = {1, 3};
  a.topk_ids = {3, 1, 1, 2, 2, 3, 0, 2,   // layer 1
                0, 1, 0, 1, 0, 1, 0, 1};  // layer 3
  a.topk_weights.assign(a.topk_ids.size(), 0.5f);
  a.step_of_token = {0, 0, 1, 1};
  a.token_ids = {5, 6, 7, 8};
  analysis::ExpertLookupTrace trace = analysis::expert_lookup_trace(a);
  EXPECT_EQ(trace.lookups[0], (std::vector<int32_t>{3, 1, 2, 2, 3, 0}));
  EXPECT_EQ(trace.lookup_step[0], (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(trace.lookups[1], (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_EQ(trace.n_decode_tokens, 2);

  // Two slots, LRU. Layer 1: 3 1 2(evicts 3) 2(hit) 3(evicts 1) 0(evicts 2): 1 hit, 2 of the
  // misses in step 1. Layer 3: 0 1 0 1 with 2 slots: 2 hits.
  analysis::CacheSimulation sim = analysis::simulate_expert_cache(trace, CachePolicy::lru, 2);
  ASSERT_EQ(sim.layers.size(), 2u);
  EXPECT_EQ(sim.layers[0].layer, 1);
  EXPECT_EQ(sim.layers[0].lookups, 6);
  EXPECT_EQ(sim.layers[0].hits, 1);
  EXPECT_EQ(sim.layers[0].decode_misses, 2);
  EXPECT_EQ(sim.layers[1].hits, 2);
  EXPECT_EQ(sim.hits, 3);
  EXPECT_DOUBLE_EQ(sim.hit_rate(), 0.3);
  EXPECT_THROW(analysis::simulate_expert_cache(trace, CachePolicy::lru, 0), InputError);
  EXPECT_THROW(analysis::simulate_expert_cache(trace, CachePolicy::lru, 5), InputError);
}

// 10. The trace builder agrees with the reference's (a set per step) on a multi-step run.
TEST(OffloadWhatIf, LookupSequenceEqualsTheReference) {
  std::mt19937 rng(11);
  analysis::RoutingArrays a;
  a.n_tokens = 40;
  a.n_layers = 3;
  a.n_experts = 16;
  a.top_k = 4;
  a.layer_ids = {0, 1, 2};
  for (int32_t l = 0; l < a.n_layers; ++l) {
    for (int32_t t = 0; t < a.n_tokens; ++t) {
      std::vector<int32_t> experts(16);
      for (int32_t e = 0; e < 16; ++e) experts[e] = e;
      std::shuffle(experts.begin(), experts.end(), rng);
      a.topk_ids.insert(a.topk_ids.end(), experts.begin(), experts.begin() + 4);
    }
  }
  a.topk_weights.assign(a.topk_ids.size(), 0.25f);
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    a.step_of_token.push_back(t < 10 ? 0 : t < 20 ? 1 + (t - 10) / 5 : t - 17);  // prefill, 2 chunks, decode
    a.token_ids.push_back(t);
  }
  analysis::ExpertLookupTrace trace = analysis::expert_lookup_trace(a);
  EXPECT_EQ(trace.lookups, test::reference_lookups(a));
  EXPECT_EQ(trace.n_decode_tokens, 30);
}

// 11. A DeepSeek-V3-shaped trace (256 experts, top-8, 58 MoE layers, a prefill of 32 tokens then
// 24 decode steps) with skewed routing: the curve is monotone where it must be (belady at every
// size, every policy at n_experts = all hits but the first lookup of each expert), and belady is
// above lru and lfu at every size.
TEST(OffloadWhatIf, DeepSeekV3ShapedCurve) {
  constexpr int32_t kExperts = 256, kTopK = 8, kLayers = 58, kPrompt = 32, kDecode = 24;
  std::mt19937 rng(3);
  analysis::RoutingArrays a;
  a.n_tokens = kPrompt + kDecode;
  a.n_layers = kLayers;
  a.n_experts = kExperts;
  a.top_k = kTopK;
  for (int32_t l = 0; l < kLayers; ++l) a.layer_ids.push_back(l + 3);  // V3's first 3 layers are dense
  std::vector<double> weights(kExperts);
  for (int32_t l = 0; l < kLayers; ++l) {
    // Each layer its own popularity order.
    std::vector<int32_t> order(kExperts);
    for (int32_t e = 0; e < kExperts; ++e) order[e] = e;
    std::shuffle(order.begin(), order.end(), rng);
    for (int32_t e = 0; e < kExperts; ++e) weights[order[e]] = 1.0 / std::pow(e + 1.0, 0.9);
    for (int32_t t = 0; t < a.n_tokens; ++t) {
      std::set<int32_t> chosen;
      std::discrete_distribution<int32_t> pick(weights.begin(), weights.end());
      while (static_cast<int32_t>(chosen.size()) < kTopK) chosen.insert(pick(rng));
      a.topk_ids.insert(a.topk_ids.end(), chosen.begin(), chosen.end());
    }
  }
  a.topk_weights.assign(a.topk_ids.size(), 1.0f / kTopK);
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    a.step_of_token.push_back(t < kPrompt ? 0 : t - kPrompt + 1);
    a.token_ids.push_back(t);
  }
  analysis::ExpertLookupTrace trace = analysis::expert_lookup_trace(a);
  const std::vector<int32_t> sizes = {1, 8, 16, 32, 64, 128, 192, 255, 256};
  auto curves = analysis::hit_rate_curves(trace, kAllCachePolicies, sizes);
  ASSERT_EQ(curves.size(), 3u);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_GE(curves[2].hit_rates[i], curves[0].hit_rates[i]) << "C=" << sizes[i];
    EXPECT_GE(curves[2].hit_rates[i], curves[1].hit_rates[i]) << "C=" << sizes[i];
    if (i > 0) {
      EXPECT_GE(curves[2].hit_rates[i], curves[2].hit_rates[i - 1]) << "C=" << sizes[i];
    }
  }
  // With every expert resident only the compulsory misses remain: one per distinct expert a layer used.
  int64_t lookups = 0, distinct = 0;
  for (const auto& layer : trace.lookups) {
    lookups += static_cast<int64_t>(layer.size());
    distinct += static_cast<int64_t>(std::set<int32_t>(layer.begin(), layer.end()).size());
  }
  for (const auto& curve : curves) {
    EXPECT_DOUBLE_EQ(curve.hit_rates.back(),
                     static_cast<double>(lookups - distinct) / static_cast<double>(lookups));
  }
  // Layer by layer the simulation equals the reference.
  for (CachePolicy policy : kAllCachePolicies) {
    analysis::CacheSimulation sim = analysis::simulate_expert_cache(trace, policy, 32);
    for (size_t l = 0; l < trace.lookups.size(); l += 19) {
      EXPECT_EQ(sim.layers[l].hits, reference_hits(policy, 32, kExperts, trace.lookups[l]))
          << cache_policy_name(policy) << " layer " << sim.layers[l].layer;
    }
  }
}

}  // namespace
}  // namespace moescope
