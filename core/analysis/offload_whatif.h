// The offload what-if: replay a recorded run's routing through a per-layer expert cache
// (core/expert_cache.h) and count hits, answering "what cache size and policy would this workload
// need?" without a GPU. Definitions in docs/offload.md.
//
// Per MoE layer the lookup sequence is the experts the run used in (step, position, rank) order,
// each expert counted once per step: the first time a step's tokens name an expert is that step's
// lookup of it, later uses in the same step ride on the copy already made. The cache starts empty.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"
#include "core/expert_cache.h"

namespace moescope::analysis {

struct ExpertLookupTrace {
  int32_t n_experts = 0;
  std::vector<int32_t> layer_ids;                 // (n_layers) the model's index of each MoE layer
  std::vector<std::vector<int32_t>> lookups;      // (n_layers, lookups of the layer) expert ids
  std::vector<std::vector<int64_t>> lookup_step;  // (n_layers, lookups of the layer) forward step
  int64_t first_step = 0;                         // the run's first forward step (the prefill)
  int64_t n_tokens = 0;                           // tokens the run processed, prompt and generated
  int64_t n_decode_tokens = 0;                    // of those, the tokens of steps after the first
};

// Checks the arrays with analysis::validate first.
ExpertLookupTrace expert_lookup_trace(const RoutingArrays& arrays);

struct LayerCacheResult {
  int32_t layer = 0;  // the model's layer index
  int64_t lookups = 0;
  int64_t hits = 0;
  int64_t decode_misses = 0;  // misses in steps after the first
};

struct CacheSimulation {
  CachePolicy policy = CachePolicy::lru;
  int32_t capacity = 0;  // slots per layer
  std::vector<LayerCacheResult> layers;
  int64_t lookups = 0;
  int64_t hits = 0;
  int64_t misses() const { return lookups - hits; }
  int64_t decode_misses = 0;
  double hit_rate() const { return lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0; }
};

// One cache of `capacity` slots per layer, each fed its layer's sequence (belady is given it as
// its future). InputError unless 1 <= capacity <= n_experts.
CacheSimulation simulate_expert_cache(const ExpertLookupTrace& trace, CachePolicy policy, int32_t capacity);

// Hit rate against cache size: the data behind the GUI's curve and `moescope offload --sweep`.
struct HitRateCurve {
  CachePolicy policy = CachePolicy::lru;
  std::vector<int32_t> capacities;  // (n_points) slots per layer, as asked
  std::vector<double> hit_rates;    // (n_points)
};

// Every capacity 1..n_experts.
std::vector<int32_t> all_cache_sizes(const ExpertLookupTrace& trace);
std::vector<HitRateCurve> hit_rate_curves(const ExpertLookupTrace& trace,
                                          std::span<const CachePolicy> policies,
                                          std::span<const int32_t> capacities);

}  // namespace moescope::analysis
