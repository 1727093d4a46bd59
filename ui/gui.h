// The desktop app's entry point, called by the `gui` verb. Returns the process exit code; errors
// before the window exists (no display, bad session file) throw with one clear line.
#pragma once

#include <optional>
#include <string>

namespace moescope::ui {

struct GuiOptions {
  std::string session_file;  // open this session at start
  std::string model_dir;     // select this checkpoint folder on the start page
  std::string synthetic;     // "TOKENSxEXPERTS[xLAYERS]": a generated session instead of a file
  std::string tour_dir;      // visit every view, write <dir>/<view>.png, exit
  int width = 0, height = 0;  // window size; 0 = remembered size
  std::optional<bool> dark_theme;
  int bench_frames = 0;  // tour: frames timed per view (written to <tour_dir>/frame_times.json)
  // Test hooks for live runs: start a run with `prompt` at launch, then cancel it or close the
  // window after the given seconds, writing what happened to `report_json`.
  std::string prompt;
  std::string prompts_file;  // a JSONL prompt set, run one after another
  int max_new_tokens = 32;
  double cancel_after_s = -1;
  double close_after_s = -1;
  std::string report_json;
  std::string script_file;  // test hook: play these clicks (ui/script_player.h), report to report_json
};

int run_gui(const GuiOptions& options);

}  // namespace moescope::ui
