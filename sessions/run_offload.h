// What the offload what-if needs from one recorded run (the CLI's `offload` verb and the GUI's
// hit-rate curve both start here): its per-layer expert lookup trace and, for the bytes a miss
// costs, the stored size of one of its experts, from the config.json kept with the run's model.
#pragma once

#include <cstdint>

#include "core/analysis/offload_cost.h"
#include "core/analysis/offload_whatif.h"
#include "sessions/reader.h"

namespace moescope::sessions {

struct RunOffloadInput {
  RunSummary run;
  analysis::ExpertLookupTrace trace;
};

// InputError, one line naming the file and run, for a run that is not complete or recorded no routing.
RunOffloadInput load_run_offload_input(SessionReader& reader, int64_t run_id);

// InputError, one line naming the file and run, when the run's model config cannot size an expert.
analysis::ExpertStorage run_expert_storage(SessionReader& reader, int64_t run_id);

// The curve behind the GUI's plot: every policy at every cache size 1..n_experts.
std::vector<analysis::HitRateCurve> run_hit_rate_curves(const RunOffloadInput& input);

}  // namespace moescope::sessions
