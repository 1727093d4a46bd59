// The model's own routing rule, run by core/routing.cpp itself: a replay with the defaults is the
// engines' routing, not a copy of it.
#include <string>
#include <vector>

#include "core/error.h"
#include "core/routing.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"

namespace moescope::routing_policies {

void route_topk(const ModelConfig& config, int32_t k, std::span<const float> correction_bias,
                const StepLogits& in, const StepRouting& out) {
  check_step(in, out, k, "topk");
  if (in.n_experts != config.n_routed_experts)
    fail_input("topk routing: the logits have " + std::to_string(in.n_experts) + " experts, the model " +
               std::to_string(config.n_routed_experts));
  if (!correction_bias.empty() && static_cast<int32_t>(correction_bias.size()) != in.n_experts)
    fail_input("topk routing: correction bias has " + std::to_string(correction_bias.size()) +
               " values, expected " + std::to_string(in.n_experts));
  ModelConfig rule = config;
  rule.top_k = k;
  if (rule.topk_method != TopkMethod::greedy && rule.n_group > 1) {
    const int64_t reachable = rule.topk_group * (rule.n_routed_experts / rule.n_group);
    if (k > reachable)
      fail_input("topk routing: k = " + std::to_string(k) + " is more than the " + std::to_string(reachable) +
                 " experts the model's group limit leaves (topk_group " + std::to_string(rule.topk_group) +
                 " of " + std::to_string(rule.n_group) + " groups)");
  }
  std::vector<float> scores(static_cast<size_t>(in.n_tokens) * in.n_experts);  // (n_tokens, n_experts)
  route_tokens(rule, in.router_logits, in.n_tokens, correction_bias, {scores, out.ids, out.weights});
}

}  // namespace moescope::routing_policies
