#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/routing_policies/policy_step_checks.h"

namespace moescope::routing_policies {

void check_step(const StepLogits& in, const StepRouting& out, int32_t width, const char* policy) {
  const std::string who = std::string(policy) + " routing: ";
  if (in.n_tokens < 0 || in.n_experts < 1)
    fail_input(who + "need n_tokens >= 0 and n_experts >= 1, got " + std::to_string(in.n_tokens) + " and " +
               std::to_string(in.n_experts));
  if (width < 1 || width > in.n_experts)
    fail_input(who + std::to_string(width) + " experts per token is outside [1, " +
               std::to_string(in.n_experts) + "] (the layer's experts)");
  const size_t n_logits = static_cast<size_t>(in.n_tokens) * in.n_experts;
  const size_t n_slots = static_cast<size_t>(in.n_tokens) * width;
  if (in.router_logits.size() != n_logits)
    fail_input(who + "router_logits has " + std::to_string(in.router_logits.size()) + " values, expected " +
               std::to_string(n_logits) + " (n_tokens x n_experts)");
  for (size_t i = 0; i < n_logits; ++i)
    if (!std::isfinite(in.router_logits[i]))
      fail_input(who + "router logit " + std::to_string(i % in.n_experts) + " of token " +
                 std::to_string(in.first_position + static_cast<int64_t>(i / in.n_experts)) +
                 " is not finite");
  if (out.width != width || out.ids.size() != n_slots || out.weights.size() != n_slots ||
      out.dropped.size() != n_slots)
    fail_input(who + "the output must be (n_tokens, " + std::to_string(width) + ") ids, weights and drops");
  std::fill(out.dropped.begin(), out.dropped.end(), uint8_t{0});
}

}  // namespace moescope::routing_policies
