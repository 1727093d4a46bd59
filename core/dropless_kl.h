// What enforcing expert capacity cost a run: per position, KL(dropless || enforced) of the
// next-token distribution, both computed in one uncached pass over the run's final tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/engine.h"

namespace moescope {

// `options` is the enforced run's (enforce_capacity_factor > 0); the dropless pass uses the same
// options with capacity enforcement off. Returns (ids.size()) values in nats.
std::vector<double> kl_to_dropless(const Model& model, EngineOptions options, std::span<const int32_t> ids);

}  // namespace moescope
