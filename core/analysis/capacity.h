// Expert capacity (GShard/Switch): each expert takes at most ceil(C * T * k / E) assignments per
// layer and forward step, T being the step's tokens; the rest overflow. Used twice: recomputing
// overflow for any C from recorded routing, and by the CPU and CUDA engines when a run enforces
// capacity (capacity_drop_mask on one step's routing of one layer).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

enum class OverflowOrder : uint8_t {
  token_order,      // earlier tokens keep their slot (Switch / GShard dispatch order)
  weight_priority,  // higher combine weight keeps its slot, ties in token order (V-MoE's batch priority)
};

// The factors recorded on every run unless configured otherwise.
inline constexpr double kDefaultCapacityFactors[] = {1.0, 1.25, 1.5, 2.0};

// ceil(C * T * k / E). A product that lands within 1e-9 (relative) of an integer counts as that
// integer, so 1.1 * 10 / 11 gives 1 rather than the 2 that binary rounding would produce.
// Throws InputError for C <= 0 or non-finite, or non-positive sizes.
int64_t expert_capacity(double capacity_factor, int64_t n_tokens, int32_t top_k, int32_t n_experts);

// One layer of one forward step. topk_ids (n_tokens, top_k) best first; topk_weights (n_tokens, top_k),
// only read for weight_priority (may be empty otherwise). Writes dropped (n_tokens, top_k): 1 where
// the assignment overflows its expert's capacity. Returns the number of dropped assignments.
int64_t capacity_drop_mask(std::span<const int32_t> topk_ids, std::span<const float> topk_weights,
                           int32_t n_tokens, int32_t top_k, int32_t n_experts, double capacity_factor,
                           OverflowOrder order, std::span<uint8_t> dropped);

struct CapacityOverflow {
  double capacity_factor = 1.0;
  OverflowOrder order = OverflowOrder::token_order;
  int32_t n_layers = 0;
  int32_t n_experts = 0;
  std::vector<int64_t> overflow;           // (n_layers, n_experts) dropped assignments per expert
  std::vector<int64_t> dropped_per_layer;  // (n_layers)
  std::vector<uint8_t> dropped;            // (n_layers, n_tokens, top_k) 1 = dropped
  int64_t n_dropped = 0;
  int64_t n_assignments = 0;  // n_layers * n_tokens * top_k
};

// Applies capacity per (layer, forward step) to a whole run's routing.
CapacityOverflow simulate_capacity(const RoutingArrays& arrays, double capacity_factor,
                                   OverflowOrder order = OverflowOrder::token_order);

// Dropped assignments of one MoE layer of a run (what simulate_capacity counts for that layer),
// without building the whole run's mask.
int64_t layer_dropped(const RoutingArrays& arrays, int32_t layer, double capacity_factor,
                      OverflowOrder order = OverflowOrder::token_order);

// Overflowing assignments / all assignments, over the run (0 for an empty run).
double drop_rate(const CapacityOverflow& overflow);
// The same within one layer.
double layer_drop_rate(const CapacityOverflow& overflow, int32_t layer);

}  // namespace moescope::analysis
