// What enforcing expert capacity cost a run: per position, KL(dropless || enforced) of the
// next-token distribution. Both passes run the run's own steps (core/teacher_forcing.h: the prompt
// as one step, then one token per step), so the enforced pass makes exactly the drops the run made,
// and the KL is 0 up to the first dropped assignment.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/engine.h"

namespace moescope {

// `options` is the enforced run's (enforce_capacity_factor > 0); the dropless pass uses the same
// options with capacity enforcement off. `ids` are the run's tokens, the first n_prompt its prompt.
// Returns (ids.size()) values in nats.
std::vector<double> kl_to_dropless(const Model& model, EngineOptions options, std::span<const int32_t> ids,
                                   int64_t n_prompt);

}  // namespace moescope
