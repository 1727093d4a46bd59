// One function per view, each in its own file (ui/view_<name>.cpp), drawn into the content area
// of the main window. The shell (ui/shell.cpp) draws the menu bar, sidebar and dialogs around them.
#pragma once

#include "ui/app_state.h"

namespace moescope::ui {

void draw_start_view(AppState& app);
void draw_run_view(AppState& app);
void draw_tokens_view(AppState& app);
void draw_heatmaps_view(AppState& app);
void draw_compare_view(AppState& app);
void draw_balance_view(AppState& app);
void draw_timeline_view(AppState& app);

// The whole window for one frame.
void draw_shell(AppState& app);

// Shared bits: a hint in place of a view that needs a session or a run; the layer slider.
void draw_empty_hint(const char* message);
void draw_layer_slider(AppState& app, const RunData& run);

}  // namespace moescope::ui
