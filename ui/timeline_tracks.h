// Prepares a run's phase timings for the timeline: steps laid end to end on one time axis, three
// tracks (steps, layers, phases) of non-overlapping zones sorted by time, so drawing is a binary
// search for the visible range plus one pass. GL- and ImGui-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ui/app_state.h"

namespace moescope::ui {

void prepare_tracks(const RunData& run, TimelineState& state);

// Zones of `track` intersecting [begin_us, end_us): index range [first, last).
std::pair<size_t, size_t> visible_range(const std::vector<PlacedZone>& track, double begin_us, double end_us);

// Per-phase totals within [begin_us, end_us) (zones clipped to it).
struct PhaseStats {
  int64_t count = 0;
  double total_us = 0;
  double max_us = 0;
};
std::vector<PhaseStats> phase_stats(const TimelineState& state, double begin_us, double end_us);  // (kPhaseCount)

// A duration as the timeline's labels and tooltips print it: "12.3 us", "4.56 ms", "1.234 s".
std::string format_us(double us);

}  // namespace moescope::ui
