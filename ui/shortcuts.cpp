// The keyboard: Ctrl+1..9 and Ctrl+0 switch views, Ctrl+F goes to the run filter; in the data
// views the arrows move the selection (Left/Right the pinned token, Shift for ten at a time,
// Up/Down the layer) and Esc clears it. Elsewhere (sidebar, start page, dialogs) the arrows, Tab
// and Enter are ImGui's keyboard navigation.
#include <imgui.h>

#include <algorithm>

#include "ui/views.h"

namespace moescope::ui {
namespace {

bool is_data_view(ViewId v) { return v != ViewId::start && v != ViewId::run; }

bool pressed(ImGuiKey key) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key)); }

}  // namespace

void handle_shortcuts(AppState& app, bool content_focused) {
  ImGuiIO& io = ImGui::GetIO();
  // Arrows belong to the selection while a data view has the focus, to navigation otherwise.
  const bool selection_keys = content_focused && is_data_view(app.view) && !io.WantTextInput;
  if (selection_keys) {
    io.ConfigFlags &= ~ImGuiConfigFlags_NavEnableKeyboard;
  } else {
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  }
  if (io.WantTextInput || ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId)) return;
  if (io.KeyCtrl) {
    for (size_t i = 0; i < std::min<size_t>(kAllViews.size(), 10); ++i) {
      if (ImGui::IsKeyPressed(i == 9 ? '0' : static_cast<int>('1' + i), false)) app.view = kAllViews[i];
    }
    if (ImGui::IsKeyPressed('F', false)) app.focus_run_filter = true;
  }
  if (!selection_keys) return;
  Selection& sel = app.selection;
  if (pressed(ImGuiKey_Escape)) {
    sel.clear_range();
    sel.pinned_token = -1;
    sel.expert = -1;
  }
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0) return;
  const int32_t step = io.KeyShift ? 10 : 1;
  if (pressed(ImGuiKey_LeftArrow)) sel.move_pinned(-step, run->routing.n_tokens);
  if (pressed(ImGuiKey_RightArrow)) sel.move_pinned(step, run->routing.n_tokens);
  if (pressed(ImGuiKey_UpArrow)) app.layer = std::max(0, app.layer - 1);
  if (pressed(ImGuiKey_DownArrow)) app.layer = std::min(run->routing.n_layers - 1, app.layer + 1);
}

}  // namespace moescope::ui
