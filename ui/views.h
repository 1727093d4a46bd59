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
void draw_lab_view(AppState& app);        // ui/view_lab.cpp: the Routing lab
void draw_offload_view(AppState& app);    // ui/view_offload.cpp
void draw_placement_view(AppState& app);  // ui/view_placement.cpp

// The whole window for one frame.
void draw_shell(AppState& app);
// Keyboard shortcuts (ui/shortcuts.cpp), after the frame's views: `content_focused` says whether
// the view area (not the sidebar) has the keyboard focus.
void handle_shortcuts(AppState& app, bool content_focused);

// Shared bits: a hint in place of a view that needs a session or a run; the layer slider.
void draw_empty_hint(const char* message);
void draw_layer_slider(AppState& app, const RunData& run);
// Notes that the view needs `field`, which the run's import did not capture (app.view_lacks).
void note_lacking(AppState& app, const char* field);
// In place of a view or panel: which engine's capture lacked `field`, and what needed it.
void draw_lacking_hint(AppState& app, const RunData& run, const char* field, const char* needed_by);

}  // namespace moescope::ui
