// The timeline's transfer track, for runs with offloaded experts (RunData::offload): under the
// phases, the expert copies on the copy stream (upper half) and the expert kernels' stalls waiting
// for them (lower half), per step and MoE layer, on the same time axis as the phase zones.
// prepare_transfer_track is GL- and ImGui-free; draw_transfer_track draws one prepared track.
#pragma once

#include <imgui.h>

#include "ui/app_state.h"

namespace moescope::ui {

// Fills s.copies and s.stalls from run.offload, placed by the step offsets of s.steps (call after
// prepare_tracks). Each list is sorted and non-overlapping, as visible_range needs: a zone that
// would start inside the previous one starts at its end.
void prepare_transfer_track(const RunData& run, TimelineState& s);

// 1 when the run has a transfer track to draw, else 0.
int transfer_track_count(const TimelineState& s);

// The timeline's visible axis: pixels [x0, x1] show microseconds [t0, t1].
struct TransferAxis {
  float x0, x1;
  double t0, t1;
};

// Draws the track in rows [y0, y0 + height) with its label at label_x; zones narrower than a
// pixel are drawn one pixel wide, merged with their neighbours. With `hover`, the zone under the
// mouse gets a tooltip naming its step, layer, counters and times.
void draw_transfer_track(ImDrawList* dl, const RunData& run, const TimelineState& s, const TransferAxis& ax, float label_x,
                         float y0, float height, bool hover);

}  // namespace moescope::ui
