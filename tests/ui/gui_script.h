// Playing a --script in a real window under Xvfb (software GL, a fresh config folder), as the
// scripted GUI tests do: the command's output and the report the window wrote.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_paths.h"

namespace moescope::test {

struct PlayedScript {
  CommandResult command;
  nlohmann::json report;  // discarded when the window wrote none (or not JSON)
};

// `moescope gui ARGS --size WxH --script dir/script.json --report dir/report.json`.
PlayedScript play_gui_script(const std::filesystem::path& dir, const std::string& args, const nlohmann::json& script,
                             int width, int height);

}  // namespace moescope::test
