#include "ui/script_player.h"

#include <imgui.h>

#include <cfloat>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "ui/run_controller.h"

namespace moescope::ui {

void note_clickable(AppState& app, const char* label) {
  if (!app.scripted_input) return;
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  app.clickables[label] = {a.x, a.y, b.x, b.y};
}

ScriptPlayer::ScriptPlayer(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) fail_input("cannot read script " + file.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail_input("script " + file.string() + " is not JSON: " + e.what());
  }
  if (!j.is_array()) fail_input("script " + file.string() + ": expected a JSON array of steps");
  for (const auto& s : j) {
    Step step;
    if (s.is_object() && s.contains("click") && s["click"].is_string()) {
      step.click = s["click"].get<std::string>();
    } else if (s.is_object() && s.contains("wait_view") && s["wait_view"].is_string()) {
      step.wait_view = s["wait_view"].get<std::string>();
    } else {
      fail_input("script " + file.string() + ": each step is {\"click\": LABEL} or {\"wait_view\": VIEW}, got " + s.dump());
    }
    if (s.contains("timeout_s") && s["timeout_s"].is_number()) step.timeout_s = s["timeout_s"].get<double>();
    steps_.push_back(std::move(step));
  }
}

void ScriptPlayer::before_frame(AppState& app) {
  ImGuiIO& io = ImGui::GetIO();
  // The real pointer plays no part: only the script's clicks reach the window.
  io.MousePos = click_phase_ >= 1 ? ImVec2(x_, y_) : ImVec2(-FLT_MAX, -FLT_MAX);
  for (bool& down : io.MouseDown) down = false;
  io.MouseDown[0] = click_phase_ == 2;
  app.clickables.clear();  // this frame's items record themselves again
}

bool ScriptPlayer::after_frame(AppState& app) {
  if (!error_.empty() || current_ >= steps_.size()) return true;
  const Step& step = steps_[current_];
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_started_).count();
  auto next = [&] {
    ++current_;
    click_phase_ = 0;
    step_started_ = std::chrono::steady_clock::now();
  };
  if (!step.click.empty()) {
    if (click_phase_ == 0) {
      auto it = app.clickables.find(step.click);
      if (it != app.clickables.end()) {
        x_ = (it->second[0] + it->second[2]) * 0.5f;
        y_ = (it->second[1] + it->second[3]) * 0.5f;
        click_phase_ = 1;
      } else if (waited > step.timeout_s) {
        error_ = "no item labelled '" + step.click + "' appeared within " + std::to_string(step.timeout_s) + " s";
      }
    } else if (click_phase_ < 3) {
      ++click_phase_;
    } else {
      next();
    }
  } else {
    const bool there = view_name(app.view) == step.wait_view && !app.runner->running() && !app.pending_source;
    if (there) {
      next();
    } else if (waited > step.timeout_s) {
      error_ = "view '" + step.wait_view + "' did not show within " + std::to_string(step.timeout_s) + " s (showing " +
               std::string(view_name(app.view)) + ")";
    }
  }
  if (!app.error_message.empty() && error_.empty()) error_ = "the app showed an error: " + app.error_message;
  return !error_.empty() || current_ >= steps_.size();
}

void ScriptPlayer::write_report(const AppState& app, const std::filesystem::path& out) const {
  nlohmann::json runs = nlohmann::json::array();
  if (app.doc) {
    for (const RunSummary& r : app.doc->runs()) runs.push_back({{"id", r.id}, {"tag", r.tag}, {"status", r.status}});
  }
  const nlohmann::json report = {{"ok", finished_ok()},
                                 {"error", error_},
                                 {"view", std::string(view_name(app.view))},
                                 {"session", app.doc ? nlohmann::json(app.doc->label()) : nlohmann::json()},
                                 {"compare_tags", {app.compare.tag_a, app.compare.tag_b}},
                                 {"runs", runs}};
  std::ofstream(out) << report.dump(2) << '\n';
}

}  // namespace moescope::ui
