// Expert choice turns top-k around: experts pick tokens. Capacity is computed as for token choice
// (core/analysis/capacity) and capped at the step's tokens, since an expert cannot take a token twice.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/analysis/capacity.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"

namespace moescope::routing_policies {

void route_expert_choice(int32_t k, double capacity_factor, const StepLogits& in, const StepRouting& out) {
  const int32_t E = in.n_experts, T = in.n_tokens;
  check_step(in, out, E, "expert-choice");
  if (T == 0) return;
  const int64_t capacity = std::min<int64_t>(analysis::expert_capacity(capacity_factor, T, k, E), T);

  std::vector<float> s(static_cast<size_t>(T) * E);  // (T, E) softmax over experts
  for (int32_t t = 0; t < T; ++t) {
    const float* logits = in.router_logits.data() + static_cast<size_t>(t) * E;
    const float max_logit = *std::max_element(logits, logits + E);
    double sum = 0;
    for (int32_t e = 0; e < E; ++e) sum += std::exp(static_cast<double>(logits[e] - max_logit));
    for (int32_t e = 0; e < E; ++e)
      s[static_cast<size_t>(t) * E + e] =
          static_cast<float>(std::exp(static_cast<double>(logits[e] - max_logit)) / sum);
  }

  std::vector<uint8_t> chosen(static_cast<size_t>(T) * E, 0);  // (T, E)
  std::vector<int32_t> tokens(static_cast<size_t>(T));
  for (int32_t e = 0; e < E; ++e) {
    std::iota(tokens.begin(), tokens.end(), 0);
    std::partial_sort(tokens.begin(), tokens.begin() + capacity, tokens.end(), [&](int32_t a, int32_t b) {
      const float sa = s[static_cast<size_t>(a) * E + e], sb = s[static_cast<size_t>(b) * E + e];
      return sa > sb || (sa == sb && a < b);
    });
    for (int64_t i = 0; i < capacity; ++i) chosen[static_cast<size_t>(tokens[i]) * E + e] = 1;
  }

  // Each token's experts, best first (ties to the lower expert), then empty slots.
  std::vector<int32_t> experts;
  for (int32_t t = 0; t < T; ++t) {
    const float* row = s.data() + static_cast<size_t>(t) * E;
    experts.clear();
    for (int32_t e = 0; e < E; ++e)
      if (chosen[static_cast<size_t>(t) * E + e]) experts.push_back(e);
    std::stable_sort(experts.begin(), experts.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    for (int32_t j = 0; j < E; ++j) {
      const size_t slot = static_cast<size_t>(t) * E + j;
      const bool used = j < static_cast<int32_t>(experts.size());
      out.ids[slot] = used ? experts[j] : kEmptySlot;
      out.weights[slot] = used ? row[experts[j]] : 0.0f;
    }
  }
}

}  // namespace moescope::routing_policies
