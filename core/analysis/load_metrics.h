// Load-balance metrics over one layer's per-expert assignment counts c_e (or any per-bin load, such
// as per-rank totals). Each is defined exactly as the source named beside it; docs/metrics.md has
// the formulas and uniform-routing baselines.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

// c_e: assignments (token, slot) routed to each expert in `layer` (index into arrays.layer_ids).
std::vector<double> expert_load(const RoutingArrays& arrays, int32_t layer);  // (n_experts)

// mean_e c_e / max_e c_e, as SGLang logs it. 1 at perfect balance; 1 for an all-zero load.
double balancedness(std::span<const double> load);
// max_e c_e / mean_e c_e - 1 (Wang et al. 2024, "Auxiliary-Loss-Free Load Balancing"). 0 at balance.
double max_vio(std::span<const double> load);
// max_e c_e / mean_e c_e; 1 at balance (0 for an all-zero load).
double max_over_mean(std::span<const double> load);
// Population standard deviation over mean (divides by E, not E-1). 0 at balance.
double coefficient_of_variation(std::span<const double> load);
// Gini coefficient sum_i sum_j |c_i - c_j| / (2 E^2 mean). 0 at balance, (E-1)/E for one hot bin.
double gini(std::span<const double> load);
// Jain's fairness index (sum c)^2 / (E sum c^2). 1 at balance, 1/E for one hot bin.
double jain_fairness(std::span<const double> load);
// Entropy of the load share p_e = c_e / sum c, divided by log E. 1 at balance, 0 for one hot bin.
double normalised_load_entropy(std::span<const double> load);

}  // namespace moescope::analysis
