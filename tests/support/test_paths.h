// Where tests find the golden fixtures, the source tree and the built binary, and a helper to run
// the binary as a user would.
#pragma once

#include <filesystem>
#include <string>

namespace moescope::test {

std::filesystem::path golden_dir();                        // tests/fixtures/golden (MOESCOPE_GOLDEN_DIR)
std::filesystem::path golden_model(const std::string& name);  // golden_dir()/models/<name>
std::filesystem::path source_dir();
std::filesystem::path moescope_binary();
// A fresh empty directory under the system temp dir, unique to this process and `label`.
std::filesystem::path scratch_dir(const std::string& label);
// The demo prompt set assets/prompts/<set>.jsonl; under the sanitizers a copy in `dir` holding its
// first 4 prompts, since recording whole sets there costs minutes per test process.
std::filesystem::path demo_prompt_set(const std::string& set, const std::filesystem::path& dir);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs `command` through /bin/sh, capturing its output.
CommandResult run_command(const std::string& command);

}  // namespace moescope::test
