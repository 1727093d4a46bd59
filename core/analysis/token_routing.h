// How individual tokens are routed: repetition between neighbours (Mixtral §5), agreement of two
// runs on the same tokens (OLMoE's router saturation), predictability of a token's expert from
// one layer to the next, and vocabulary specialisation (OLMoE §5).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

struct Repetition {
  int64_t n_pairs = 0;         // adjacent token pairs (t, t+1)
  double same_top1 = 0.0;      // share of pairs with the same first expert
  double shares_any = 0.0;     // share of pairs whose top-k sets intersect
  double baseline_top1 = 0.0;  // 1 / E
  double baseline_any = 0.0;   // 1 - C(E-k, k) / C(E, k)
};

Repetition consecutive_repetition(const RoutingArrays& arrays, int32_t layer);

// 1 - C(E-k, k) / C(E, k): chance that two independent uniform k-subsets of E experts intersect.
double random_overlap_baseline(int32_t n_experts, int32_t top_k);

// (1/T) sum_t |S_t^a ∩ S_t^b| / k for one layer. The runs must cover the same tokens (same ids,
// count, layers, experts and k): InputError otherwise. Uniform-random baseline: k / E.
double router_agreement(const RoutingArrays& a, const RoutingArrays& b, int32_t layer);
std::vector<double> router_agreement(const RoutingArrays& a, const RoutingArrays& b);  // (n_layers)

// Consistency of a token's routing from MoE layer `layer` to `layer + 1`, over the top-1 experts
// X (at layer) and Y (at layer + 1) of each token.
struct LayerTransition {
  int32_t from_layer = 0;  // model layer ids
  int32_t to_layer = 0;
  // sum_x max_y N(x, y) / T: accuracy of predicting Y from X by the most frequent successor.
  // 1 when X determines Y; about 1/E when they are independent and uniform (higher for small T).
  double top1_predictability = 0.0;
  // I(X; Y) / log E: 0 when independent, 1 when X determines a uniform Y.
  double normalised_mutual_information = 0.0;
};

LayerTransition layer_transition(const RoutingArrays& arrays, int32_t layer);

struct VocabularySpecialisation {
  int64_t n_ids = 0;                   // distinct ids seen at least min_count times
  double mean_specialisation = 0.0;    // mean over those ids of max_e N(x -> e) / N(x), top-1 expert; NaN when n_ids = 0
};

// ids (n_tokens): the id attributed to each position (input ids, or next_token_ids); negative ids
// are skipped.
VocabularySpecialisation vocabulary_specialisation(const RoutingArrays& arrays, int32_t layer,
                                                   std::span<const int32_t> ids, int32_t min_count = 5);

// (n_tokens) the id that follows each position in the run, -1 for the last: the predicted id for
// generated tokens (the sampled continuation), the reference next token for prompt positions.
std::vector<int32_t> next_token_ids(const RoutingArrays& arrays);

}  // namespace moescope::analysis
