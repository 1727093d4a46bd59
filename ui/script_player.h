// A test hook (`moescope gui --script FILE --report OUT`): plays mouse clicks on the window as a
// user would, to drive first-run paths end to end under Xvfb. FILE is a JSON array of steps:
//   {"click": "LABEL"}                 move the mouse onto the item so labelled and click it
//   {"click": "LABEL", "at": [fx, fy]} ... at that fraction of the item's width and height
//   {"scroll": "LABEL", "at": [fx, fy], "wheel": N}   turn the mouse wheel N notches over the item
//   {"key": "Right"}                   press and release a key: Left, Right, Up, Down, Escape, Enter,
//                                      a letter or digit; "Ctrl+3", "Shift+Right" hold a modifier
//   {"type": "text"}                   type the text into the item that has the keyboard
//   {"wait_view": "compare", "timeout_s": 600}   wait until that view shows and no run is going
//   {"wait_run_tag": "replay:switch"}  wait until the selected run has that tag
//   {"screenshot": "PATH"}             save the window as PNG
//   {"export_png": "PATH"}             what File > Export > PNG at 2x saves once its dialog closes
// Clicks go through ImGui's mouse input (position, button down, button up over three frames);
// an item can be clicked once it called note_clickable in a frame and no view's background work
// (a replay, a cache sweep) is under way. OUT gets what the app showed
// at the end: {"ok", "error", "view", "session", "compare_tags", "runs", "run_id", "layer",
// "selection": {"token_begin", "token_end", "pinned_token", "expert"}, "timeline_measure_us",
// "clickables": the labels the last frame showed, "clickable_rects": {label: [x0, y0, x1, y1]} in
// window pixels, "timeline_counters": {"steps", "tokens_per_s_max", "expert", "layer",
// "expert_tokens" (summed over steps), "modelled_exchanges"} of the timeline's rows, "lab_layers" and "lab_error": the Routing lab's
// replay, "find_zone": {"query", "matches"} of the timeline's find-zone search}.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "ui/app_state.h"

namespace moescope::ui {

// Called right after an ImGui item: records its rectangle under `label` when a script is playing.
void note_clickable(AppState& app, const char* label);
// The same for a rectangle in screen coordinates (a plot inside an item).
void note_clickable_rect(AppState& app, const char* label, float x0, float y0, float x1, float y1);

class ScriptPlayer {
 public:
  // InputError naming the file for an unreadable or malformed script.
  explicit ScriptPlayer(const std::filesystem::path& file);
  // Before ImGui::NewFrame (after the platform backend's NewFrame): sets the mouse.
  void before_frame(AppState& app);
  // After the frame: advances the script; true once it finished or failed.
  bool after_frame(AppState& app);
  void write_report(AppState& app, const std::filesystem::path& out) const;
  bool finished_ok() const { return error_.empty() && current_ >= steps_.size(); }

 private:
  struct Step {
    std::string click;
    float at_x = 0.5f, at_y = 0.5f;  // where in the item to click
    float wheel = 0;                 // a scroll step: notches (positive: away from the user, zoom in)
    std::string key;                 // key name without modifiers
    std::string type;                // text to type
    bool ctrl = false, shift = false;
    std::string wait_view;
    std::string wait_run_tag;
    std::string screenshot;
    std::string export_png;
    double timeout_s = 60;
  };
  void release_keys();
  int key_index(const std::string& name) const;
  std::vector<Step> steps_;
  size_t current_ = 0;
  int click_phase_ = 0;  // 0: find the item, 1: hover, 2: press, 3: release (keys: 1 down, 2 up)
  int held_key_ = -1;
  float x_ = -1, y_ = -1;
  std::chrono::steady_clock::time_point step_started_ = std::chrono::steady_clock::now();
  std::string error_;
};

}  // namespace moescope::ui
