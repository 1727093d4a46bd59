#include "tests/support/cli_checks.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace moescope::test {

std::filesystem::path copy_golden_checkpoint(const std::string& model, const std::string& label) {
  namespace fs = std::filesystem;
  auto dir = scratch_dir(label);
  for (const auto& entry : fs::directory_iterator(golden_model(model)))
    fs::copy_file(entry.path(), dir / entry.path().filename());
  for (const auto& entry : fs::directory_iterator(dir))
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
  return dir;
}

void expect_one_clear_line(const CommandResult& result, const std::string& needle) {
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_EQ(result.output.rfind("moescope: error: ", 0), 0u) << result.output;
  EXPECT_NE(result.output.find(needle), std::string::npos) << result.output;
}

bool have_xvfb() { return run_command("command -v xvfb-run").exit_code == 0; }

}  // namespace moescope::test
