// The one check of a run's stored values that every consumer of a session relies on (report,
// compare, every export format, the GUI): each row of the run, in every table, holds values of the
// type and range a moescope build writes (expert ids inside 0..n_experts-1, token ids inside the
// model's vocabulary, counts that are not negative, finite weights and times, layers of the run).
// SessionReader runs it once per run before handing out any of the run's rows, so no consumer can
// accept what another refuses. The first bad value is an InputError of one line:
//   "s.db: run 3, table routing: expert id 300 at position 5, layer 2 is outside 0..255 (n_experts 256)"
#pragma once

#include <cstdint>
#include <optional>

#include "sessions/reader.h"
#include "sessions/sql.h"

namespace moescope::sessions {

// The runs row itself (counts, times, its model and prompt rows), checked whenever a run is read.
void check_run_row(Connection& connection, int64_t run_id);

// The lowest run id whose runs row check_run_row refuses, or none: the same rules in one query over
// the whole table, so listing 100,000 runs does not prepare two statements per run.
std::optional<int64_t> first_run_with_bad_row(Connection& connection);

// Every row of the run in tokens, steps, routing, expert_hits, capacity_overflow, timings,
// all_to_all, all_to_all_steps and offload_steps, against the dimensions of `run` (already checked) and the
// vocabulary size of its model's config.json (where it gives one).
void check_run_rows(Connection& connection, const RunSummary& run);

}  // namespace moescope::sessions
