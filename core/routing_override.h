// A routing override replaces the model's expert selection in every MoE layer of an engine
// (EngineOptions::routing_override): routing what-ifs run the model under another policy. The
// engine passes each layer's live router logits of each step, in order.
#pragma once

#include <cstdint>

#include "core/routing_policies/policy_step.h"

namespace moescope {

struct RoutingOverride {
  virtual ~RoutingOverride() = default;
  virtual int32_t width() const = 0;  // slots per token it writes
  // Fills (n_tokens, width) ids, weights and drops; ids of -1 are empty slots.
  virtual void route(const routing_policies::StepLogits& in, const routing_policies::StepRouting& out) = 0;
};

}  // namespace moescope
