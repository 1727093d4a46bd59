// The frame around the views: menu bar, sidebar (views, runs, live-run progress), status bar,
// the error dialog and the file browser. [SECTION] index: live runs, menu bar, sidebar, shell.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

#include "sessions/export.h"
#include "sessions/recorder.h"
#include "ui/file_browser.h"
#include "ui/run_controller.h"
#include "ui/script_player.h"
#include "ui/session_file_source.h"
#include "ui/style.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

// Runs made in this process before any session was opened.
class UnsavedSource final : public SessionSource {
 public:
  std::string label() const override { return "unsaved runs"; }
  ModelCard model() const override { return {}; }
  std::vector<RunSummary> runs() override { return {}; }
  std::shared_ptr<RunData> load_run(int64_t) override { return nullptr; }
};

FileBrowser& browser() {
  static FileBrowser instance;  // UI-only state of a modal, not data
  return instance;
}

void open_session_file(AppState& app, const std::string& path) {
  try {
    app.request_open(open_session_source(path), app.view == ViewId::start ? ViewId::tokens : app.view);
    remember_recent(app.settings.recent_sessions, path);
  } catch (const std::exception& e) {
    app.error_message = e.what();
  }
}

// File > New session: an empty session file at `path` (refused if something is there already),
// opened so that the next runs record into it.
void create_session_file(AppState& app, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    app.error_message = path + " already exists; open it with File > Open session, or pick a new name";
    return;
  }
  try {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    { sessions::SessionWriter create(path, "gui"); }
    app.request_open(open_session_source(path), ViewId::run);
    remember_recent(app.settings.recent_sessions, path);
  } catch (const std::exception& e) {
    app.error_message = e.what();
  }
}

//-----------------------------------------------------------------------------
// [SECTION] live runs
//-----------------------------------------------------------------------------

void show_demo_comparison(AppState& app) {
  app.view = ViewId::compare;
  app.compare = CompareState{};
  app.compare.tag_a = "code";
  app.compare.tag_b = "verse";
}

void poll_live_run(AppState& app) {
  if (auto update = app.runner->take_update()) {
    if (!app.doc) app.open_session(std::make_unique<UnsavedSource>());
    app.doc->put_live_run(update);
    app.run_id = update->summary.id;
  }
  if (auto outcome = app.runner->take_outcome()) {
    app.live_outcome = outcome->cancelled ? "cancelled" : outcome->error.empty() ? "complete" : "failed: " + outcome->error;
    app.live_cancel_latency_s = outcome->cancel_latency_s;
    if (!outcome->error.empty()) app.error_message = "run failed: " + outcome->error;
    app.status_line = "run " + app.live_outcome;
    if (outcome->recorded_run_id == 0 && outcome->error.empty() && app.doc && app.doc->run(app.run_id)) ++app.unsaved_runs;
    if (outcome->recorded_run_id > 0 && !app.demo_session.empty()) {
      // The demo comparison recorded into its session: show it on the compare view, code vs verse.
      try {
        app.request_open(open_session_source(app.demo_session), ViewId::compare);
        remember_recent(app.settings.recent_sessions, app.demo_session);
        if (app.pending_source) {
          app.pending_demo = true;
        } else {
          show_demo_comparison(app);
        }
      } catch (const std::exception& e) {
        app.error_message = e.what();
      }
      app.demo_session.clear();
    } else if (outcome->recorded_run_id > 0 && app.doc && app.doc->label() != "unsaved runs") {
      try {
        app.doc->refresh();
        app.run_id = outcome->recorded_run_id;
      } catch (const std::exception& e) {
        app.error_message = e.what();
      }
    }
  }
}

//-----------------------------------------------------------------------------
// [SECTION] menu bar
//-----------------------------------------------------------------------------

void draw_menu_bar(AppState& app) {
  if (!ImGui::BeginMenuBar()) return;
  if (ImGui::BeginMenu("File")) {
    if (ImGui::MenuItem("New session...")) browser().open(FileBrowser::Mode::new_session, "");
    if (ImGui::MenuItem("Open session...")) browser().open(FileBrowser::Mode::open_session, "");
    if (ImGui::MenuItem("Open checkpoint folder...")) browser().open(FileBrowser::Mode::open_model_dir, "");
    if (ImGui::BeginMenu("Recent sessions", !app.settings.recent_sessions.empty())) {
      for (const auto& path : app.settings.recent_sessions) {
        if (ImGui::MenuItem(path.c_str())) open_session_file(app, path);
      }
      ImGui::EndMenu();
    }
    ImGui::Separator();
    if (ImGui::BeginMenu("Export")) {
      if (ImGui::MenuItem("PNG of this view")) {
        app.want_screenshot = true;
        app.screenshot_path = "moescope-" + std::string(view_name(app.view)) + ".png";
      }
      if (ImGui::MenuItem("PNG of this view at 2x...")) {
        browser().open(FileBrowser::Mode::save_png, "", "moescope-" + std::string(view_name(app.view)) + "@2x.png");
      }
      const bool file_backed = app.doc && std::filesystem::exists(app.doc->label());
      const struct {
        const char* label;
        sessions::ExportFormat format;
        const char* suffix;
      } formats[] = {{"Session copy (SQLite)...", sessions::ExportFormat::sqlite, "-copy.db"},
                     {"CSV tables...", sessions::ExportFormat::csv, "-csv"},
                     {"JSON...", sessions::ExportFormat::json, ".json"},
                     {"Chrome trace (Perfetto)...", sessions::ExportFormat::chrome_trace, ".trace.json"}};
      for (const auto& f : formats) {
        if (ImGui::MenuItem(f.label, nullptr, false, file_backed)) {
          app.export_format = static_cast<int>(f.format);
          app.export_path = (std::filesystem::path(app.doc->label()).replace_extension("").string()) + f.suffix;
          app.export_requested = true;
        }
      }
      ImGui::EndMenu();
    }
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("View")) {
    for (size_t i = 0; i < kAllViews.size(); ++i) {
      const ViewId v = kAllViews[i];
      const std::string shortcut = i < 10 ? "Ctrl+" + std::to_string((i + 1) % 10) : "";
      if (ImGui::MenuItem(std::string(view_title(v)).c_str(), shortcut.c_str(), app.view == v)) app.view = v;
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Dark theme", nullptr, app.settings.dark_theme)) {
      app.settings.dark_theme = !app.settings.dark_theme;
      apply_theme(app.settings.dark_theme, app.ui_scale);
    }
    if (ImGui::BeginMenu("Colour map")) {
      for (int i = 0; i < kColormapCount; ++i) {
        const auto map = static_cast<Colormap>(i);
        if (ImGui::MenuItem(std::string(colormap_name(map)).c_str(), nullptr, app.settings.colormap == map)) {
          app.settings.colormap = map;
        }
      }
      ImGui::EndMenu();
    }
    ImGui::EndMenu();
  }
  ImGui::EndMenuBar();
}

//-----------------------------------------------------------------------------
// [SECTION] sidebar
//-----------------------------------------------------------------------------

void draw_sidebar(AppState& app) {
  ImGui::PushFont(app.fonts.heading);
  ImGui::TextUnformatted("moescope");
  ImGui::PopFont();
  ImGui::Spacing();
  for (ViewId v : kAllViews) {
    if (ImGui::Selectable(std::string(view_title(v)).c_str(), app.view == v, 0, ImVec2(0, ImGui::GetFrameHeight()))) {
      app.view = v;
    }
    note_clickable(app, ("view:" + std::string(view_name(v))).c_str());
  }
  ImGui::Separator();
  if (!app.doc) {
    ImGui::TextDisabled("No session open");
    return;
  }
  ImGui::TextDisabled("Runs (%zu)", app.doc->runs().size());
  if (app.focus_run_filter) {
    ImGui::SetKeyboardFocusHere();
    app.focus_run_filter = false;
  }
  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##runfilter", "filter: tag, prompt, #id (Ctrl+F)", &app.run_filter);
  note_clickable(app, "run filter");
  ImGui::BeginChild("##runs", ImVec2(0, ImGui::GetContentRegionAvail().y - ImGui::GetFrameHeightWithSpacing() * 3), false);
  // Only the rows on screen are built: a session of 100,000 imported requests lists in the
  // time of a few dozen rows. The filter runs over every run's summary, when it changes.
  const std::vector<RunSummary>& all_runs = app.doc->runs();
  const std::vector<size_t>& rows = app.run_list.rows(*app.doc, app.run_filter);
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(rows.size()));
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      const RunSummary& r = all_runs[rows[static_cast<size_t>(row)]];
      char label[160];
      std::snprintf(label, sizeof label, "#%lld  %s##run%lld", static_cast<long long>(r.id), r.tag.empty() ? "(no tag)" : r.tag.c_str(),
                    static_cast<long long>(r.id));
      if (r.id < 0) std::snprintf(label, sizeof label, "live  %s##live", r.tag.c_str());
      if (ImGui::Selectable(label, app.run_id == r.id)) {
        if (app.run_id != r.id) app.selection.expert = -1;
        app.run_id = r.id;
        app.selection.reset_tokens();
      }
      note_clickable(app, ("run:" + std::to_string(r.id)).c_str());
      if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::Text("%d tokens (%d prompt), %s, %s", r.n_tokens, r.n_prompt_tokens, r.status.c_str(), r.backend.c_str());
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
        ImGui::TextUnformatted(r.prompt.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
      }
      ImGui::SameLine(ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize("00000").x);
      ImGui::TextDisabled("%d", r.n_tokens);
    }
  }
  ImGui::EndChild();
  if (app.run_id != 0) {
    const std::string error = app.doc->load_error(app.run_id);
    if (!error.empty()) {
      ImGui::PushTextWrapPos(0.0f);
      ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.4f, 1.0f), "%s", error.c_str());
      ImGui::PopTextWrapPos();
    }
  }
  const RunProgress p = app.runner->progress();
  if (p.running) {
    const float frac = p.tokens_total > 0 ? static_cast<float>(p.tokens_done) / static_cast<float>(p.tokens_total) : 0.0f;
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "%s %d/%d", p.stage.c_str(), p.tokens_done, p.tokens_total);
    ImGui::ProgressBar(frac, ImVec2(-1, 0), overlay);
    if (ImGui::Button("Cancel run", ImVec2(-1, 0))) app.runner->cancel();
  }
}

void draw_status_bar(AppState& app) {
  const ImGuiIO& io = ImGui::GetIO();
  if (app.doc) {
    ImGui::TextDisabled("%s  |  %zu runs  |  %s", app.doc->label().c_str(), app.doc->runs().size(),
                        app.doc->model().name.c_str());
  } else {
    ImGui::TextDisabled("no session");
  }
  if (!app.status_line.empty()) {
    ImGui::SameLine();
    ImGui::TextDisabled("|  %s", app.status_line.c_str());
  }
  char fps[48];
  std::snprintf(fps, sizeof fps, "%.0f fps", io.Framerate);
  ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - ImGui::CalcTextSize(fps).x);
  ImGui::TextDisabled("%s", fps);
}

void draw_export_dialog(AppState& app) {
  if (app.export_requested) {
    ImGui::OpenPopup("Export");
    app.export_requested = false;
  }
  if (!ImGui::BeginPopupModal("Export", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
  ImGui::Text("Export %s to", app.doc ? app.doc->label().c_str() : "");
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 36);
  ImGui::InputText("##exportpath", &app.export_path);
  if (ImGui::Button("Export", ImVec2(ImGui::GetFontSize() * 6, 0))) {
    try {
      sessions::export_session(app.doc->label(), static_cast<sessions::ExportFormat>(app.export_format), app.export_path);
      app.status_line = "exported " + app.export_path;
    } catch (const std::exception& e) {
      app.error_message = e.what();
    }
    ImGui::CloseCurrentPopup();
  }
  ImGui::SameLine();
  if (ImGui::Button("Cancel", ImVec2(ImGui::GetFontSize() * 6, 0))) ImGui::CloseCurrentPopup();
  ImGui::EndPopup();
}

void draw_error_dialog(AppState& app) {
  if (app.error_message.empty()) return;
  if (!ImGui::IsPopupOpen("Error")) ImGui::OpenPopup("Error");
  if (ImGui::BeginPopupModal("Error", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 40);
    ImGui::TextUnformatted(app.error_message.c_str());
    ImGui::PopTextWrapPos();
    if (ImGui::Button("OK", ImVec2(ImGui::GetFontSize() * 6, 0))) {
      app.error_message.clear();
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
}

// Asks before a session replaces live runs that were recorded nowhere.
void draw_discard_dialog(AppState& app) {
  if (!app.pending_source) return;
  constexpr const char* kTitle = "Discard unsaved runs?";
  if (!ImGui::IsPopupOpen(kTitle)) ImGui::OpenPopup(kTitle);
  if (!ImGui::BeginPopupModal(kTitle, nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 36);
  ImGui::Text("%d run%s made in this window %s not recorded in any session file. Opening %s replaces %s.", app.unsaved_runs,
              app.unsaved_runs == 1 ? "" : "s", app.unsaved_runs == 1 ? "is" : "are", app.pending_source->label().c_str(),
              app.unsaved_runs == 1 ? "it" : "them");
  ImGui::PopTextWrapPos();
  if (ImGui::Button("Discard and open")) {
    const bool demo = app.pending_demo;
    const ViewId next = app.pending_view;
    app.open_session(std::move(app.pending_source));
    app.view = next;
    if (demo) show_demo_comparison(app);
    ImGui::CloseCurrentPopup();
  }
  ImGui::SameLine();
  if (ImGui::Button("Keep them") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
    app.pending_source.reset();
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] shell
//-----------------------------------------------------------------------------

void draw_shell(AppState& app) {
  poll_live_run(app);
  app.view_lacks.clear();
  if (!app.pending_png.empty()) {
    // The save dialog closed last frame: this frame shows the view alone.
    app.want_screenshot = true;
    app.screenshot_path = std::exchange(app.pending_png, std::string());
    app.screenshot_scale = 2;
  }
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::Begin("##main", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_MenuBar | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings);
  ImGui::PopStyleVar();
  draw_menu_bar(app);
  const float status_h = ImGui::GetFrameHeightWithSpacing();
  const float sidebar_w = ImGui::GetFontSize() * 13.5f;
  const float body_h = ImGui::GetContentRegionAvail().y - status_h;
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(10 * app.ui_scale, 10 * app.ui_scale));
  ImGui::BeginChild("##sidebar", ImVec2(sidebar_w, body_h), true, ImGuiWindowFlags_AlwaysUseWindowPadding);
  draw_sidebar(app);
  ImGui::EndChild();
  ImGui::SameLine(0, 0);
  ImGui::PushStyleColor(ImGuiCol_ChildBg, ImGui::GetStyleColorVec4(ImGuiCol_WindowBg));
  ImGui::BeginChild("##content", ImVec2(0, body_h), false, ImGuiWindowFlags_AlwaysUseWindowPadding);
  ImGui::PopStyleColor();
  switch (app.view) {
    case ViewId::start: draw_start_view(app); break;
    case ViewId::run: draw_run_view(app); break;
    case ViewId::tokens: draw_tokens_view(app); break;
    case ViewId::heatmaps: draw_heatmaps_view(app); break;
    case ViewId::compare: draw_compare_view(app); break;
    case ViewId::balance: draw_balance_view(app); break;
    case ViewId::timeline: draw_timeline_view(app); break;
    case ViewId::lab: draw_lab_view(app); break;
    case ViewId::offload: draw_offload_view(app); break;
    case ViewId::placement: draw_placement_view(app); break;
  }
  const bool content_focused = ImGui::IsWindowFocused(ImGuiFocusedFlags_ChildWindows);
  ImGui::EndChild();
  ImGui::PopStyleVar();
  ImGui::SetCursorPosX(ImGui::GetStyle().ItemSpacing.x + 4);
  draw_status_bar(app);
  if (auto chosen = draw_file_browser(browser(), browser().mode == FileBrowser::Mode::open_session
                                                      ? app.settings.recent_sessions
                                                      : app.settings.recent_models)) {
    if (browser().mode == FileBrowser::Mode::open_session) {
      open_session_file(app, *chosen);
    } else if (browser().mode == FileBrowser::Mode::new_session) {
      create_session_file(app, *chosen);
    } else if (browser().mode == FileBrowser::Mode::save_png) {
      app.pending_png = *chosen;
    } else {
      app.model_dir = *chosen;
      remember_recent(app.settings.recent_models, *chosen);
      app.view = ViewId::start;
    }
  }
  draw_export_dialog(app);
  draw_discard_dialog(app);
  draw_error_dialog(app);
  ImGui::End();
  handle_shortcuts(app, content_focused);
}

void draw_empty_hint(const char* message) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 size = ImGui::CalcTextSize(message);
  ImGui::SetCursorPos(ImVec2(ImGui::GetCursorPosX() + (avail.x - size.x) * 0.5f, ImGui::GetCursorPosY() + avail.y * 0.4f));
  ImGui::TextDisabled("%s", message);
}

void note_lacking(AppState& app, const char* field) {
  if (std::find(app.view_lacks.begin(), app.view_lacks.end(), field) == app.view_lacks.end()) app.view_lacks.emplace_back(field);
}

void draw_lacking_hint(AppState& app, const RunData& run, const char* field, const char* needed_by) {
  note_lacking(app, field);
  char text[256];
  std::snprintf(text, sizeof text, "This run was imported from %s, whose capture has no %s: %s needs them",
                run.imported_from.c_str(), field, needed_by);
  draw_empty_hint(text);
}

void draw_layer_slider(AppState& app, const RunData& run) {
  const int32_t n = run.routing.n_layers;
  if (n <= 0) return;
  app.layer = std::clamp(app.layer, 0, n - 1);
  char fmt[64];
  std::snprintf(fmt, sizeof fmt, "MoE layer %%d (model layer %d)", run.routing.layer_ids.empty() ? app.layer : run.routing.layer_ids[app.layer]);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 22);
  ImGui::SliderInt("##layer", &app.layer, 0, n - 1, fmt);
}

}  // namespace moescope::ui
