// Checks shared by the tests that drive the moescope binary as a user would.
#pragma once

#include <filesystem>
#include <string>

#include "tests/support/test_paths.h"

namespace moescope::test {

// A writable copy of a golden checkpoint folder, for a case to damage.
std::filesystem::path copy_golden_checkpoint(const std::string& model, const std::string& label);
// Exit code 1 (not a signal), exactly one line, starting as every error line does, containing `needle`.
void expect_one_clear_line(const CommandResult& result, const std::string& needle);
// Whether xvfb-run is installed (GUI tests skip, saying so, where it is not).
bool have_xvfb();

}  // namespace moescope::test
