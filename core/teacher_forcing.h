// Runs a recorded token sequence through an engine in the step structure generate() gave it (the
// prompt as one step, then one token per step), so every per-step decision (capacity drops, expert
// choice, a running bias) sees the same steps the run saw. Used to compare a run with a variant of
// itself: dropless vs enforced capacity, recorded vs replayed routing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/engine.h"

namespace moescope {

// Resets the engine. Returns (ids.size(), vocab) logits: row p is the next-token distribution after
// position p. n_prompt in [1, ids.size()].
std::vector<float> teacher_forced_logits(Engine& engine, std::span<const int32_t> ids, int64_t n_prompt);

}  // namespace moescope
