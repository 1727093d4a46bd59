// Jensen-Shannon divergence between two expert-load distributions (two runs, two tags, two groups
// of prompts) per layer, and a permutation test that says whether an observed divergence between
// two groups of prompts exceeds what random splits of the same prompts give.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

// JSD(p || q) in bits (log base 2, so it lies in [0, 1]) of the loads normalised to sum 1:
// (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2. NaN when either load is all zero.
double js_divergence(std::span<const double> load_p, std::span<const double> load_q);

// KL(P || Q) in nats between the next-token distributions softmax(logits_p) and softmax(logits_q),
// one vocabulary row each: how far a capacity-enforced run's prediction moved from the dropless
// one (P = dropless reference).
double next_token_kl(std::span<const float> logits_p, std::span<const float> logits_q);

// (n_layers, n_experts) assignment counts of a whole run.
std::vector<double> run_loads(const RoutingArrays& arrays);

// (n_layers) JSD per layer between two (n_layers, n_experts) loads.
std::vector<double> js_divergence_per_layer(std::span<const double> loads_a, std::span<const double> loads_b,
                                            int32_t n_layers, int32_t n_experts);

struct PermutationTest {
  std::vector<double> observed_per_layer;  // (n_layers) JSD between the pooled groups
  double observed = 0.0;                   // statistic: mean over layers of observed_per_layer
  int32_t n_permutations = 0;
  int32_t n_at_least_observed = 0;         // permutations whose statistic >= observed
  double p_value = 1.0;                    // (1 + n_at_least_observed) / (1 + n_permutations)
  std::vector<double> null_statistics;     // (n_permutations) the statistic of each random split (NaN kept)
};

// Each prompt is its (n_layers, n_experts) loads (e.g. run_loads). Random splits keep the group
// sizes; the shuffle is our own Fisher-Yates over a seeded mt19937_64, so a seed gives the same
// p-value on every platform.
PermutationTest jsd_permutation_test(std::span<const std::vector<double>> group_a,
                                     std::span<const std::vector<double>> group_b, int32_t n_layers,
                                     int32_t n_experts, int32_t n_permutations = 1000, uint64_t seed = 0);

}  // namespace moescope::analysis
