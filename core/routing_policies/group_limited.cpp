// Group-limited routing is core/routing's group rule with the groups the user asks for.
#include <string>

#include "core/error.h"
#include "core/routing_policies/policies.h"

namespace moescope::routing_policies {

void route_group_limited(const ModelConfig& config, int32_t k, int32_t groups, int32_t topk_groups,
                         std::span<const float> correction_bias, const StepLogits& in,
                         const StepRouting& out) {
  if (groups < 1 || in.n_experts % groups != 0)
    fail_input("group-limited routing: --groups " + std::to_string(groups) + " must divide the " +
               std::to_string(in.n_experts) + " experts into equal groups");
  if (topk_groups < 1 || topk_groups > groups)
    fail_input("group-limited routing: --topk-groups " + std::to_string(topk_groups) + " must be in [1, " +
               std::to_string(groups) + "]");
  ModelConfig rule = config;
  rule.n_group = groups;
  rule.topk_group = topk_groups;
  const bool v3_rule = config.topk_method == TopkMethod::noaux_tc;
  rule.topk_method = v3_rule ? TopkMethod::noaux_tc : TopkMethod::group_limited_greedy;
  if (v3_rule && in.n_experts / groups < 2)
    fail_input(
        "group-limited routing: the V3 group score sums two experts, so a group needs at least 2 (--groups " +
        std::to_string(groups) + ")");
  route_topk(rule, k, v3_rule ? correction_bias : std::span<const float>{}, in, out);
}

}  // namespace moescope::routing_policies
