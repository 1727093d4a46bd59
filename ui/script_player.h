// A test hook (`moescope gui --script FILE --report OUT`): plays mouse clicks on the window as a
// user would, to drive first-run paths end to end under Xvfb. FILE is a JSON array of steps:
//   {"click": "LABEL"}                 move the mouse onto the item so labelled and click it
//   {"wait_view": "compare", "timeout_s": 600}   wait until that view shows and no run is going
// Clicks go through ImGui's mouse input (position, button down, button up over three frames);
// an item can be clicked once it called note_clickable in a frame. OUT gets what the app showed
// at the end: {"ok", "error", "view", "session", "compare_tags", "runs"}.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "ui/app_state.h"

namespace moescope::ui {

// Called right after an ImGui item: records its rectangle under `label` when a script is playing.
void note_clickable(AppState& app, const char* label);

class ScriptPlayer {
 public:
  // InputError naming the file for an unreadable or malformed script.
  explicit ScriptPlayer(const std::filesystem::path& file);
  // Before ImGui::NewFrame (after the platform backend's NewFrame): sets the mouse.
  void before_frame(AppState& app);
  // After the frame: advances the script; true once it finished or failed.
  bool after_frame(AppState& app);
  void write_report(const AppState& app, const std::filesystem::path& out) const;
  bool finished_ok() const { return error_.empty() && current_ >= steps_.size(); }

 private:
  struct Step {
    std::string click;
    std::string wait_view;
    double timeout_s = 60;
  };
  std::vector<Step> steps_;
  size_t current_ = 0;
  int click_phase_ = 0;  // 0: find the item, 1: hover, 2: press, 3: release
  float x_ = -1, y_ = -1;
  std::chrono::steady_clock::time_point step_started_ = std::chrono::steady_clock::now();
  std::string error_;
};

}  // namespace moescope::ui
