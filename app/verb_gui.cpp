// `moescope gui`: the desktop app (also what runs with no verb). `--tour DIR` is the scripted,
// screenshot-taking walk through every view that tests and the README use.
#include <cstdio>
#include <memory>
#include <string>

#include "app/verb_registry.h"
#include "ui/gui.h"

namespace moescope {
namespace {

void add_gui(CLI::App& app) {
  auto options = std::make_shared<ui::GuiOptions>();
  auto theme = std::make_shared<std::string>();
  auto size = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("gui", "Open the desktop app (the default with no verb)");
  cmd->add_option("--session", options->session_file, "Session file (.db) to open");
  cmd->add_option("--model", options->model_dir, "Checkpoint folder to select");
  cmd->add_option("--synthetic", options->synthetic, "Open a generated session instead, TOKENSxEXPERTS[xLAYERS], e.g. 10000x256x8");
  cmd->add_option("--tour", options->tour_dir, "Visit every view, write DIR/<view>.png and DIR/frame_times.json, exit");
  cmd->add_option("--bench-frames", options->bench_frames, "With --tour: frames timed per view")->check(CLI::Range(0, 100000));
  cmd->add_option("--size", *size, "Window size WIDTHxHEIGHT, e.g. 1600x1000");
  cmd->add_option("--theme", *theme, "dark or light")->check(CLI::IsMember({"dark", "light"}));
  cmd->add_option("--prompt", options->prompt, "Start a run of this prompt on --model at launch (recorded into --session)");
  cmd->add_option("--prompts", options->prompts_file, "Run this JSONL prompt set on --model at launch, one run per prompt");
  cmd->add_option("--max-new-tokens", options->max_new_tokens, "Tokens to generate for --prompt")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--cancel-after", options->cancel_after_s, "Test hook: cancel the --prompt run after SECONDS");
  cmd->add_option("--close-after", options->close_after_s, "Test hook: close the window after SECONDS");
  cmd->add_option("--report", options->report_json, "Test hook: write how the --prompt run or the --script went to this JSON file");
  cmd->add_option("--script", options->script_file, "Test hook: play the mouse clicks in this JSON file (with --report)");
  cmd->callback([options, theme, size] {
    if (!theme->empty()) options->dark_theme = *theme == "dark";
    if (!size->empty()) {
      int w = 0, h = 0;
      char x = 0;
      if (std::sscanf(size->c_str(), "%d%c%d", &w, &x, &h) != 3 || x != 'x' || w < 320 || h < 240 || w > 16384 || h > 16384) {
        throw CLI::ValidationError("--size", "expected WIDTHxHEIGHT between 320x240 and 16384x16384, got '" + *size + "'");
      }
      options->width = w;
      options->height = h;
    }
    if (!options->script_file.empty() && options->report_json.empty()) {
      throw CLI::ValidationError("--script", "needs --report FILE");
    }
    if ((!options->prompt.empty() || !options->prompts_file.empty()) && options->model_dir.empty()) {
      throw CLI::ValidationError("--prompt/--prompts", "needs --model DIR");
    }
    const int code = ui::run_gui(*options);
    if (code != 0) throw ExitWith{code};
  });
}

}  // namespace
}  // namespace moescope

MOESCOPE_REGISTER_VERB(gui, moescope::add_gui);
