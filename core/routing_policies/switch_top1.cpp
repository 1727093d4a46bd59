// Switch routing is the greedy softmax rule with k = 1 and no renormalisation or scaling, so it is
// core/routing.cpp under that configuration.
#include <vector>

#include "core/routing.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"

namespace moescope::routing_policies {

void route_switch(const StepLogits& in, const StepRouting& out) {
  check_step(in, out, 1, "switch");
  ModelConfig rule;
  rule.n_routed_experts = in.n_experts;
  rule.top_k = 1;
  rule.scoring = ScoringFunc::softmax;
  rule.topk_method = TopkMethod::greedy;
  rule.norm_topk_prob = false;
  rule.routed_scaling_factor = 1.0;
  std::vector<float> scores(static_cast<size_t>(in.n_tokens) * in.n_experts);  // (n_tokens, n_experts)
  route_tokens(rule, in.router_logits, in.n_tokens, {}, {scores, out.ids, out.weights});
}

}  // namespace moescope::routing_policies
