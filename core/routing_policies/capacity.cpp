// Token choice under a capacity: the drop rule is core/analysis/capacity's, the one the engines
// enforce and the overflow table records, so all three agree on what a factor drops.
#include "core/analysis/capacity.h"

#include "core/routing_policies/policies.h"

namespace moescope::routing_policies {

void route_capacity(const ModelConfig& config, int32_t k, std::span<const float> correction_bias,
                    double capacity_factor, CapacityPriority priority, const StepLogits& in,
                    const StepRouting& out) {
  route_topk(config, k, correction_bias, in, out);
  analysis::capacity_drop_mask(out.ids, out.weights, in.n_tokens, k, in.n_experts, capacity_factor,
                               priority == CapacityPriority::position
                                   ? analysis::OverflowOrder::token_order
                                   : analysis::OverflowOrder::weight_priority,
                               out.dropped);
}

}  // namespace moescope::routing_policies
