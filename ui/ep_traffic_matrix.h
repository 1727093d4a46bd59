// The timeline's EP traffic matrix: tokens each expert-parallel rank sends each other rank in one
// step and layer's all-to-all, source ranks down, destination ranks across, both axes labelled
// with rank numbers, and a colour bar with round ticks for the token counts.
#pragma once

#include <imgui.h>

#include "ui/app_state.h"

namespace moescope::ui {

// Every how many ranks an axis names one, so labels `label_px` wide never overlap cells
// `cell_px` wide: 1, 2 or 5 times a power of ten.
int rank_label_stride(int n_ranks, float cell_px, float label_px);

// The matrix of app.timeline's traffic step and layer (the first recorded until a zone is clicked).
void draw_ep_traffic_matrix(AppState& app, const RunData& run, ImVec2 size);

}  // namespace moescope::ui
