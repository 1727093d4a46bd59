// The rows drawn under the timeline's zone tracks (ui/view_timeline.cpp): tokens per second, the
// chosen expert's tokens per step at the selected layer, and for runs with expert parallelism the
// modelled all-to-all. Data from ui/timeline_counters.h; each row is drawn per pixel column.
#pragma once

#include <imgui.h>

#include "ui/app_state.h"

namespace moescope::ui {

// The timeline's time axis on screen: [x0, x1] shows [t0_us, t1_us].
struct TimelineFrame {
  float x0 = 0, x1 = 1;
  double t0_us = 0, t1_us = 1;
  float label_x = 0;  // where the row names start
};

// Height of the rows for `run` (tokens/s and the expert's tokens; the modelled all-to-all when the
// run has EP traffic), gaps included.
float counter_tracks_height(const RunData& run, float font);

// Rebuilds app.timeline.counters when the run, layer or highlighted expert changed (after
// prepare_tracks), then draws the rows from y0. `hovered_area`: the timeline item is hovered, so
// a row under the mouse shows its tooltip.
void draw_counter_tracks(AppState& app, const RunData& run, ImDrawList* dl, const TimelineFrame& frame,
                         float y0, bool hovered_area);

}  // namespace moescope::ui
