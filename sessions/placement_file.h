// An expert placement as a small JSON file: what `moescope placement --out` writes and
// `run --placement` reads. {"format": "moescope-placement", "version": 1, "n_ranks": R,
// "n_experts": E, "method": "...", "ranks_of_expert": [[rank, ...], ...]}.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/analysis/ep_placement.h"

namespace moescope::sessions {

nlohmann::json placement_json(const analysis::ExpertPlacement& placement, const std::string& method);
// InputError naming the file for anything malformed: another format or a newer version, ranks
// outside [0, n_ranks), an expert with no copy, a size that does not match.
analysis::ExpertPlacement read_placement_file(const std::filesystem::path& path);

}  // namespace moescope::sessions
