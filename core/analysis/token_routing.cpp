#include "core/analysis/token_routing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "core/error.h"

namespace moescope::analysis {
namespace {

void require_layer(const RoutingArrays& a, int32_t layer, const char* what, int32_t past_end = 0) {
  if (layer < 0 || layer + past_end >= a.n_layers) {
    fail_input(std::string(what) + ": layer index " + std::to_string(layer) + " is outside [0, " +
               std::to_string(a.n_layers - past_end) + ")");
  }
}

bool sets_intersect(const int32_t* x, const int32_t* y, int32_t k) {
  for (int32_t i = 0; i < k; ++i) {
    for (int32_t j = 0; j < k; ++j) {
      if (x[i] == y[j] && x[i] != kNoExpert) return true;
    }
  }
  return false;
}

}  // namespace

double random_overlap_baseline(int32_t n_experts, int32_t top_k) {
  if (n_experts < 1 || top_k < 1 || top_k > n_experts) {
    fail_input("overlap baseline: need 1 <= top_k <= n_experts (got E=" + std::to_string(n_experts) + ", k=" +
               std::to_string(top_k) + ")");
  }
  // C(E-k, k) / C(E, k) = prod_{i<k} (E-k-i) / (E-i); zero once E-k-i reaches 0.
  double disjoint = 1.0;
  for (int32_t i = 0; i < top_k; ++i) disjoint *= std::max(0, n_experts - top_k - i) / static_cast<double>(n_experts - i);
  return 1.0 - disjoint;
}

Repetition consecutive_repetition(const RoutingArrays& a, int32_t layer) {
  require_layer(a, layer, "consecutive_repetition");
  Repetition out;
  out.baseline_top1 = 1.0 / a.n_experts;
  out.baseline_any = random_overlap_baseline(a.n_experts, a.top_k);
  int64_t same = 0, any = 0;
  for (int32_t t = 0; t + 1 < a.n_tokens; ++t) {
    const int32_t* x = a.topk_ids.data() + a.topk_offset(layer, t);
    const int32_t* y = a.topk_ids.data() + a.topk_offset(layer, t + 1);
    same += x[0] == y[0] && x[0] != kNoExpert;
    any += sets_intersect(x, y, a.top_k);
    ++out.n_pairs;
  }
  if (out.n_pairs > 0) {
    out.same_top1 = static_cast<double>(same) / out.n_pairs;
    out.shares_any = static_cast<double>(any) / out.n_pairs;
  }
  return out;
}

double router_agreement(const RoutingArrays& a, const RoutingArrays& b, int32_t layer) {
  if (a.n_tokens != b.n_tokens || a.n_layers != b.n_layers || a.n_experts != b.n_experts || a.top_k != b.top_k) {
    fail_input("router agreement: the runs differ in shape (tokens/layers/experts/k " + std::to_string(a.n_tokens) + "/" +
               std::to_string(a.n_layers) + "/" + std::to_string(a.n_experts) + "/" + std::to_string(a.top_k) +
               " vs " + std::to_string(b.n_tokens) + "/" + std::to_string(b.n_layers) + "/" +
               std::to_string(b.n_experts) + "/" + std::to_string(b.top_k) + "), expected the same tokens");
  }
  if (a.token_ids != b.token_ids) fail_input("router agreement: the runs saw different token ids, expected the same tokens");
  require_layer(a, layer, "router_agreement");
  if (a.n_tokens == 0) return std::numeric_limits<double>::quiet_NaN();
  int64_t shared = 0;
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    const int32_t* x = a.topk_ids.data() + a.topk_offset(layer, t);
    const int32_t* y = b.topk_ids.data() + b.topk_offset(layer, t);
    for (int32_t i = 0; i < a.top_k; ++i) {
      if (x[i] != kNoExpert) shared += std::count(y, y + a.top_k, x[i]);
    }
  }
  return static_cast<double>(shared) / (static_cast<double>(a.n_tokens) * a.top_k);
}

std::vector<double> router_agreement(const RoutingArrays& a, const RoutingArrays& b) {
  std::vector<double> out;
  for (int32_t l = 0; l < a.n_layers; ++l) out.push_back(router_agreement(a, b, l));
  return out;
}

LayerTransition layer_transition(const RoutingArrays& a, int32_t layer) {
  require_layer(a, layer, "layer_transition", 1);
  LayerTransition out;
  out.from_layer = a.layer_ids[layer];
  out.to_layer = a.layer_ids[layer + 1];
  if (a.n_tokens == 0) {
    out.top1_predictability = out.normalised_mutual_information = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const size_t E = static_cast<size_t>(a.n_experts);
  std::vector<int64_t> joint(E * E, 0), from(E, 0), to(E, 0);
  int64_t counted = 0;
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    const int32_t x = a.topk_ids[a.topk_offset(layer, t)];
    const int32_t y = a.topk_ids[a.topk_offset(layer + 1, t)];
    if (x == kNoExpert || y == kNoExpert) continue;  // routed nowhere in one of the layers
    ++counted;
    ++joint[x * E + y];
    ++from[x];
    ++to[y];
  }
  if (counted == 0) {
    out.top1_predictability = out.normalised_mutual_information = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const double T = static_cast<double>(counted);
  int64_t best = 0;
  double mi = 0.0;
  for (size_t x = 0; x < E; ++x) {
    best += *std::max_element(joint.begin() + x * E, joint.begin() + (x + 1) * E);
    for (size_t y = 0; y < E; ++y) {
      const int64_t n = joint[x * E + y];
      if (n > 0) mi += n / T * std::log(n * T / (static_cast<double>(from[x]) * to[y]));
    }
  }
  out.top1_predictability = best / T;
  out.normalised_mutual_information = E > 1 ? mi / std::log(static_cast<double>(E)) : 0.0;
  return out;
}

VocabularySpecialisation vocabulary_specialisation(const RoutingArrays& a, int32_t layer, std::span<const int32_t> ids,
                                                   int32_t min_count) {
  require_layer(a, layer, "vocabulary_specialisation");
  if (static_cast<int64_t>(ids.size()) != a.n_tokens) {
    fail_input("vocabulary specialisation: " + std::to_string(ids.size()) + " ids for " + std::to_string(a.n_tokens) +
               " tokens, expected one per token");
  }
  if (min_count < 1) fail_input("vocabulary specialisation: min_count must be >= 1, got " + std::to_string(min_count));
  // id -> per-expert top-1 counts
  std::unordered_map<int32_t, std::vector<int64_t>> counts;
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    if (ids[t] < 0) continue;
    auto& c = counts[ids[t]];
    if (c.empty()) c.assign(a.n_experts, 0);
    const int32_t top1 = a.topk_ids[a.topk_offset(layer, t)];
    if (top1 != kNoExpert) ++c[top1];
  }
  VocabularySpecialisation out;
  double sum = 0.0;
  for (const auto& [id, c] : counts) {
    int64_t n = 0;
    for (int64_t v : c) n += v;
    if (n < min_count) continue;
    sum += static_cast<double>(*std::max_element(c.begin(), c.end())) / n;
    ++out.n_ids;
  }
  out.mean_specialisation = out.n_ids > 0 ? sum / out.n_ids : std::numeric_limits<double>::quiet_NaN();
  return out;
}

std::vector<int32_t> next_token_ids(const RoutingArrays& a) {
  std::vector<int32_t> out(a.n_tokens, -1);
  for (int32_t t = 0; t + 1 < a.n_tokens; ++t) out[t] = a.token_ids[t + 1];
  return out;
}

}  // namespace moescope::analysis
