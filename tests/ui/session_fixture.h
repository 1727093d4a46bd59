// Test sessions written through the sessions writer API (SessionWriter and its observer), from
// the GUI's synthetic runs, exactly as an engine would report them step by step (offload counters
// included when the spec asks for them).
#pragma once

#include <filesystem>
#include <vector>

#include "ui/synthetic_session.h"

namespace moescope::test {

// Writes runs of `spec` (tags cycling code, poetry, math, prose; the first run spec.n_tokens long,
// the others shorter) into a new session file. Returns the runs written. With
// `enforce_capacity_factor` > 0 the runs are recorded as `run --enforce-capacity` records them:
// the factor in the settings, each step's overflow at that factor (token order) in the dropped
// masks, and kl_to_dropless_of(position) for every generated token.
std::vector<std::shared_ptr<ui::RunData>> write_synthetic_session(const std::filesystem::path& file, const ui::SyntheticSpec& spec,
                                                                  double enforce_capacity_factor = 0);

// The KL to dropless such a session holds for a generated token at `position`.
double kl_to_dropless_of(int32_t position);

}  // namespace moescope::test
