#include "core/routing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace moescope {

void top_k_indices(std::span<const float> values, int64_t k, std::vector<int32_t>& out) {
  out.resize(values.size());
  std::iota(out.begin(), out.end(), 0);
  std::partial_sort(out.begin(), out.begin() + k, out.end(), [&](int32_t a, int32_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  out.resize(static_cast<size_t>(k));
}

void route_tokens(const ModelConfig& c, std::span<const float> router_logits, int64_t n_tokens,
                  std::span<const float> correction_bias, const RoutingOutput& out) {
  const int64_t E = c.n_routed_experts, k = c.top_k;
  const int64_t group_size = E / c.n_group;
  std::vector<float> choice(static_cast<size_t>(E));
  std::vector<float> group_scores(static_cast<size_t>(c.n_group));
  std::vector<int32_t> chosen, groups;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* logits = router_logits.data() + t * E;
    float* scores = out.scores.data() + t * E;
    if (c.scoring == ScoringFunc::softmax) {
      const float max_logit = *std::max_element(logits, logits + E);
      double sum = 0;
      for (int64_t e = 0; e < E; ++e) sum += std::exp(static_cast<double>(logits[e] - max_logit));
      for (int64_t e = 0; e < E; ++e) scores[e] = static_cast<float>(std::exp(static_cast<double>(logits[e] - max_logit)) / sum);
    } else {
      for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    }
    for (int64_t e = 0; e < E; ++e) choice[e] = scores[e] + (correction_bias.empty() ? 0.0f : correction_bias[e]);

    if (c.topk_method != TopkMethod::greedy && c.n_group > 1) {
      // Rank groups (noaux_tc: sum of each group's two best corrected scores; group_limited_greedy:
      // its best score), keep topk_group of them, and mask the rest out of the choice.
      for (int64_t g = 0; g < c.n_group; ++g) {
        const float* s = choice.data() + g * group_size;
        if (c.topk_method == TopkMethod::noaux_tc) {
          std::vector<float> members(s, s + group_size);
          std::partial_sort(members.begin(), members.begin() + 2, members.end(), std::greater<float>());
          group_scores[g] = members[0] + members[1];
        } else {
          group_scores[g] = *std::max_element(s, s + group_size);
        }
      }
      top_k_indices(group_scores, c.topk_group, groups);
      std::vector<bool> kept(static_cast<size_t>(c.n_group), false);
      for (int32_t g : groups) kept[g] = true;
      // Experts of dropped groups are never chosen (corrected scores can be negative, so a 0 fill
      // would let them win).
      for (int64_t e = 0; e < E; ++e)
        if (!kept[e / group_size]) choice[e] = -std::numeric_limits<float>::infinity();
    }
    top_k_indices(choice, k, chosen);

    int32_t* ids = out.topk_ids.data() + t * k;
    float* weights = out.topk_weights.data() + t * k;
    double weight_sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      ids[j] = chosen[j];
      weights[j] = scores[chosen[j]];
      weight_sum += weights[j];
    }
    const bool normalise = c.norm_topk_prob && k > 1;
    if (normalise)
      for (int64_t j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] / weight_sum);
    // DeepSeek-V2's reference scales only weights it did not renormalise; V3 scales always.
    const bool scale = c.family == Family::deepseek_v2 ? !normalise : true;
    if (scale && c.routed_scaling_factor != 1.0)
      for (int64_t j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] * c.routed_scaling_factor);
  }
}

}  // namespace moescope
