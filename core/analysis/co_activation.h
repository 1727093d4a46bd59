// Expert co-activation within one layer: how often two experts sit in the same token's top-k.
#pragma once

#include <cstdint>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

struct CoActivation {
  int32_t n_experts = 0;
  std::vector<int64_t> pair_count;   // (n_experts, n_experts) tokens choosing both i and j; diagonal = count(i)
  std::vector<double> conditional;   // (n_experts, n_experts) P(j | i) = pair_count[i][j] / count(i); row of an unused i is 0
};

CoActivation co_activation(const RoutingArrays& arrays, int32_t layer);

// P(j | i) for i != j when every token picks k distinct experts uniformly: (k - 1) / (E - 1).
double co_activation_uniform_baseline(int32_t n_experts, int32_t top_k);

}  // namespace moescope::analysis
