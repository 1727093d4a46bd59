#include "core/analysis/offload_whatif.h"

#include <algorithm>
#include <string>

#include "core/analysis/cache_stack.h"
#include "core/error.h"

namespace moescope::analysis {

ExpertLookupTrace expert_lookup_trace(const RoutingArrays& a) {
  validate(a);
  ExpertLookupTrace trace;
  trace.n_experts = a.n_experts;
  trace.layer_ids = a.layer_ids;
  trace.lookups.resize(static_cast<size_t>(a.n_layers));
  trace.lookup_step.resize(static_cast<size_t>(a.n_layers));
  trace.n_tokens = a.n_tokens;
  if (a.n_tokens > 0) trace.first_step = a.step_of_token[0];
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    if (a.step_of_token[static_cast<size_t>(t)] != trace.first_step) ++trace.n_decode_tokens;
  }
  // seen_in_step[e] holds the step that last looked expert e up, so each expert counts once a step.
  std::vector<int64_t> seen_in_step(static_cast<size_t>(a.n_experts));
  for (int32_t layer = 0; layer < a.n_layers; ++layer) {
    std::fill(seen_in_step.begin(), seen_in_step.end(), -1);
    auto& lookups = trace.lookups[static_cast<size_t>(layer)];
    auto& steps = trace.lookup_step[static_cast<size_t>(layer)];
    for (int32_t t = 0; t < a.n_tokens; ++t) {
      const int64_t step = a.step_of_token[static_cast<size_t>(t)];
      for (int32_t r = 0; r < a.top_k; ++r) {
        const int32_t expert = a.topk_ids[a.topk_offset(layer, t) + static_cast<size_t>(r)];
        if (expert == kNoExpert || seen_in_step[static_cast<size_t>(expert)] == step) continue;
        seen_in_step[static_cast<size_t>(expert)] = step;
        lookups.push_back(expert);
        steps.push_back(step);
      }
    }
  }
  return trace;
}

CacheSimulation simulate_expert_cache(const ExpertLookupTrace& trace, CachePolicy policy, int32_t capacity) {
  if (capacity < 1 || capacity > trace.n_experts) {
    fail_input("cache size " + std::to_string(capacity) + " is outside 1.." +
               std::to_string(trace.n_experts) + " (the run's experts per layer)");
  }
  CacheSimulation sim;
  sim.policy = policy;
  sim.capacity = capacity;
  for (size_t l = 0; l < trace.lookups.size(); ++l) {
    ExpertCache cache(policy, capacity, trace.n_experts);
    if (policy == CachePolicy::belady) cache.set_future(trace.lookups[l]);
    LayerCacheResult layer;
    layer.layer = trace.layer_ids[l];
    for (size_t i = 0; i < trace.lookups[l].size(); ++i) {
      ++layer.lookups;
      if (cache.access(trace.lookups[l][i]).hit) {
        ++layer.hits;
      } else if (trace.lookup_step[l][i] != trace.first_step) {
        ++layer.decode_misses;
      }
    }
    sim.lookups += layer.lookups;
    sim.hits += layer.hits;
    sim.decode_misses += layer.decode_misses;
    sim.layers.push_back(layer);
  }
  return sim;
}

std::vector<int32_t> all_cache_sizes(const ExpertLookupTrace& trace) {
  std::vector<int32_t> sizes;
  for (int32_t c = 1; c <= trace.n_experts; ++c) sizes.push_back(c);
  return sizes;
}

std::vector<HitRateCurve> hit_rate_curves(const ExpertLookupTrace& trace,
                                          std::span<const CachePolicy> policies,
                                          std::span<const int32_t> capacities) {
  for (int32_t capacity : capacities) {
    if (capacity < 1 || capacity > trace.n_experts) {
      fail_input("cache size " + std::to_string(capacity) + " is outside 1.." +
                 std::to_string(trace.n_experts) + " (the run's experts per layer)");
    }
  }
  int64_t lookups = 0;
  for (const auto& layer : trace.lookups) lookups += static_cast<int64_t>(layer.size());
  std::vector<HitRateCurve> curves;
  for (CachePolicy policy : policies) {
    // Hits at every size, summed over the layers: one pass a layer (analysis/cache_stack.h).
    std::vector<int64_t> hits(static_cast<size_t>(trace.n_experts), 0);
    for (const auto& layer : trace.lookups) {
      const std::vector<int64_t> layer_hits = cache_hits_at_every_size(policy, trace.n_experts, layer);
      for (size_t c = 0; c < hits.size(); ++c) hits[c] += layer_hits[c];
    }
    HitRateCurve curve;
    curve.policy = policy;
    for (int32_t capacity : capacities) {
      curve.capacities.push_back(capacity);
      const int64_t h = hits[static_cast<size_t>(capacity - 1)];
      curve.hit_rates.push_back(lookups ? static_cast<double>(h) / static_cast<double>(lookups) : 0.0);
    }
    curves.push_back(std::move(curve));
  }
  return curves;
}

}  // namespace moescope::analysis
