// Focus: `moescope compare` refuses comparisons that have no answer instead of printing NaN
// (issue #18): a tag compared with itself is one clear line naming the tag, exit 1, before any
// session file is read; the option for the minimum support of a listed lift checks its range.
#include <gtest/gtest.h>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope::test {
namespace {

TEST(VerbCompare, ATagComparedWithItselfIsRefusedNamingTheTag) {
  const auto dir = scratch_dir("compare-same-tag");
  const auto r = run_command(moescope_binary().string() + " compare --db " + (dir / "none.db").string() + " --tags code,code");
  expect_one_clear_line(r, "'code' twice");
  EXPECT_EQ(r.output.find("nan"), std::string::npos) << r.output;
}

TEST(VerbCompare, ANegativeMinimumSupportIsRefused) {
  const auto dir = scratch_dir("compare-min-support");
  const auto r = run_command(moescope_binary().string() + " compare --db " + (dir / "none.db").string() +
                             " --tags code,verse --min-support -3");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--min-support"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace moescope::test
