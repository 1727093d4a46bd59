#include "ui/script_player.h"

#include <imgui.h>

#include <cctype>
#include <cfloat>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "ui/run_controller.h"

namespace moescope::ui {
namespace {

bool known_key(const std::string& name) {
  for (const char* n : {"Left", "Right", "Up", "Down", "Escape", "Enter"}) {
    if (name == n) return true;
  }
  return name.size() == 1 && std::isalnum(static_cast<unsigned char>(name[0]));
}

}  // namespace

void note_clickable(AppState& app, const char* label) {
  if (!app.scripted_input) return;
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  app.clickables[label] = {a.x, a.y, b.x, b.y};
}

void note_clickable_rect(AppState& app, const char* label, float x0, float y0, float x1, float y1) {
  if (app.scripted_input) app.clickables[label] = {x0, y0, x1, y1};
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
    auto text = [&](const char* field) { return s.is_object() && s.contains(field) && s[field].is_string(); };
    if (text("click") || text("scroll")) {
      step.click = s[text("click") ? "click" : "scroll"].get<std::string>();
      if (text("scroll")) {
        if (!s.contains("wheel") || !s["wheel"].is_number() || s["wheel"] == 0) {
          fail_input("script " + file.string() + ": a scroll step needs \"wheel\": a non-zero number of notches, got " + s.dump());
        }
        step.wheel = s["wheel"].get<float>();
      }
      if (s.contains("at")) {
        const auto& at = s["at"];
        if (!at.is_array() || at.size() != 2 || !at[0].is_number() || !at[1].is_number() || at[0] < 0 || at[0] > 1 ||
            at[1] < 0 || at[1] > 1) {
          fail_input("script " + file.string() + ": \"at\" is [fx, fy] with fractions in [0, 1], got " + at.dump());
        }
        step.at_x = at[0].get<float>(), step.at_y = at[1].get<float>();
      }
    } else if (text("key")) {
      std::string k = s["key"].get<std::string>();
      for (const auto& [prefix, flag] : {std::pair<std::string, bool*>{"Ctrl+", &step.ctrl}, {"Shift+", &step.shift}}) {
        if (k.rfind(prefix, 0) == 0) k = k.substr(prefix.size()), *flag = true;
      }
      step.key = k;
      if (!known_key(k)) {
        fail_input("script " + file.string() + ": unknown key '" + k + "' (Left, Right, Up, Down, Escape, Enter, A-Z, 0-9)");
      }
    } else if (text("type")) {
      step.type = s["type"].get<std::string>();
    } else if (text("wait_view")) {
      step.wait_view = s["wait_view"].get<std::string>();
    } else if (text("wait_run_tag")) {
      step.wait_run_tag = s["wait_run_tag"].get<std::string>();
    } else if (text("screenshot")) {
      step.screenshot = s["screenshot"].get<std::string>();
    } else if (text("export_png")) {
      step.export_png = s["export_png"].get<std::string>();
    } else {
      fail_input("script " + file.string() +
                 ": each step is {\"click\": LABEL}, {\"key\": KEY}, {\"type\": TEXT}, {\"wait_view\": VIEW}, {\"wait_run_tag\": TAG}, "
                 "{\"screenshot\": PATH} or {\"export_png\": PATH}, got " +
                 s.dump());
    }
    if (s.contains("timeout_s") && s["timeout_s"].is_number()) step.timeout_s = s["timeout_s"].get<double>();
    steps_.push_back(std::move(step));
  }
}

// ImGui's key index (the GLFW backend's key codes: ASCII for letters and digits) of a key name;
// needs the ImGui context.
int ScriptPlayer::key_index(const std::string& name) const {
  const struct {
    const char* name;
    ImGuiKey key;
  } named[] = {{"Left", ImGuiKey_LeftArrow}, {"Right", ImGuiKey_RightArrow}, {"Up", ImGuiKey_UpArrow},
               {"Down", ImGuiKey_DownArrow}, {"Escape", ImGuiKey_Escape},     {"Enter", ImGuiKey_Enter}};
  for (const auto& n : named) {
    if (name == n.name) return ImGui::GetKeyIndex(n.key);
  }
  if (name.size() == 1 && std::isalnum(static_cast<unsigned char>(name[0]))) return std::toupper(static_cast<unsigned char>(name[0]));
  return -1;
}

void ScriptPlayer::release_keys() {
  ImGuiIO& io = ImGui::GetIO();
  if (held_key_ >= 0) io.KeysDown[held_key_] = false;
  held_key_ = -1;
  io.KeyCtrl = io.KeyShift = false;
}

void ScriptPlayer::before_frame(AppState& app) {
  ImGuiIO& io = ImGui::GetIO();
  const Step* step = current_ < steps_.size() ? &steps_[current_] : nullptr;
  const bool keying = step && !step->key.empty();
  // The real pointer plays no part: only the script's clicks reach the window. After a click the
  // pointer stays where it clicked (as a hand on a mouse does) until the next one.
  io.MousePos = (!keying && click_phase_ >= 1) || (keying && x_ >= 0) ? ImVec2(x_, y_) : ImVec2(-FLT_MAX, -FLT_MAX);
  for (bool& down : io.MouseDown) down = false;
  const bool scrolling = step && step->wheel != 0;
  io.MouseDown[0] = !keying && !scrolling && click_phase_ == 2;
  if (scrolling && click_phase_ == 2) io.MouseWheel = step->wheel;
  release_keys();
  if (step && !step->type.empty() && click_phase_ == 1) io.AddInputCharactersUTF8(step->type.c_str());
  if (keying && click_phase_ == 1) {
    held_key_ = key_index(step->key);
    io.KeysDown[held_key_] = true;
    io.KeyCtrl = step->ctrl;
    io.KeyShift = step->shift;
  }
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
  if (!step.key.empty() || !step.type.empty()) {
    if (++click_phase_ > 2) next();  // 1: down (or typed) for a frame, 2: up
  } else if (!step.export_png.empty()) {
    if (click_phase_++ == 0) {
      app.pending_png = step.export_png;  // as the save dialog's Save button does
    } else if (click_phase_ > 2) {
      next();
    }
  } else if (!step.screenshot.empty()) {
    if (click_phase_++ == 0) {
      app.want_screenshot = true;  // taken by the next frame
      app.screenshot_path = step.screenshot;
    } else {
      next();
    }
  } else if (!step.wait_run_tag.empty()) {
    auto run = app.selected_run();
    if (run && run->summary.tag == step.wait_run_tag && !app.runner->running()) {
      next();
    } else if (waited > step.timeout_s) {
      error_ = "no run tagged '" + step.wait_run_tag + "' was selected within " + std::to_string(step.timeout_s) + " s";
    }
  } else if (!step.click.empty()) {
    if (click_phase_ == 0) {
      // A person waits for "working..." to finish before clicking what it brings.
      auto it = app.background_busy() ? app.clickables.end() : app.clickables.find(step.click);
      if (it != app.clickables.end()) {
        x_ = it->second[0] + (it->second[2] - it->second[0]) * step.at_x;
        y_ = it->second[1] + (it->second[3] - it->second[1]) * step.at_y;
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

// Not const: reading a background job's result polls it.
void ScriptPlayer::write_report(AppState& app, const std::filesystem::path& out) const {
  // What the Routing lab shows: the replay's layers, or why there is none.
  RoutingLabState& lab = app.lab;
  const LabReplay* replay = lab.replay.result();
  const size_t lab_layers = replay ? replay->layers.size() : 0;
  const std::string lab_error = lab.replay.error();
  nlohmann::json clickables = nlohmann::json::array();
  nlohmann::json rects = nlohmann::json::object();
  for (const auto& [label, rect] : app.clickables) {
    clickables.push_back(label);
    rects[label] = {rect[0], rect[1], rect[2], rect[3]};
  }
  const TimelineCounters& counters = app.timeline.counters;
  double expert_tokens = 0;
  for (const CounterSample& sample : counters.expert_tokens.samples) expert_tokens += sample.value;
  nlohmann::json runs = nlohmann::json::array();
  if (app.doc) {
    for (const RunSummary& r : app.doc->runs()) runs.push_back({{"id", r.id}, {"tag", r.tag}, {"status", r.status}});
  }
  const nlohmann::json report = {{"ok", finished_ok()},
                                 {"error", error_},
                                 {"view", std::string(view_name(app.view))},
                                 {"session", app.doc ? nlohmann::json(app.doc->label()) : nlohmann::json()},
                                 {"compare_tags", {app.compare.tag_a, app.compare.tag_b}},
                                 {"runs", runs},
                                 {"run_id", app.run_id},
                                 {"layer", app.layer},
                                 {"selection",
                                  {{"token_begin", app.selection.token_begin},
                                   {"token_end", app.selection.token_end},
                                   {"pinned_token", app.selection.pinned_token},
                                   {"expert", app.selection.expert}}},
                                 {"timeline_measure_us", {app.timeline.select_begin_us, app.timeline.select_end_us}},
                                 {"clickables", clickables},
                                 {"clickable_rects", rects},
                                 {"timeline_counters",
                                  {{"steps", counters.tokens_per_s.samples.size()},
                                   {"tokens_per_s_max", counters.tokens_per_s.max_value},
                                   {"expert", counters.expert},
                                   {"layer", counters.layer},
                                   {"expert_tokens", expert_tokens},
                                   {"modelled_exchanges", counters.exchanges.size()}}},
                                 {"lab_layers", lab_layers},
                                 {"find_zone", {{"query", app.timeline.find_searched}, {"matches", app.timeline.find.matches.size()}}},
                                 {"lab_error", lab_error}};
  std::ofstream(out) << report.dump(2) << '\n';
}

}  // namespace moescope::ui
