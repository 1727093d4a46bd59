// Shape checks shared by the policy files: one clear line when a caller passes mismatched buffers.
#pragma once

#include "core/routing_policies/policy_step.h"

namespace moescope::routing_policies {

// Throws InputError unless `in` is (n_tokens, n_experts) and `out` (n_tokens, width) with
// 1 <= width <= n_experts; clears out.dropped.
void check_step(const StepLogits& in, const StepRouting& out, int32_t width, const char* policy);

}  // namespace moescope::routing_policies
