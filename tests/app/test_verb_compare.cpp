// Focus: `moescope compare` refuses comparisons that have no answer instead of printing NaN
// (issue #18): a tag or a run compared with itself is one clear line naming it, exit 1, before any
// session file is read; the option for the minimum support of a listed lift checks its range. Two
// runs get the statistics two tags get (JSD, the experts that prefer one side with lift and
// chi-square p), with the same minimum support.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST(VerbCompare, ARunComparedWithItselfIsRefusedNamingTheRun) {
  const auto dir = scratch_dir("compare-same-run");
  const auto r = run_command(moescope_binary().string() + " compare --db " + (dir / "none.db").string() + " --runs 3,3");
  expect_one_clear_line(r, "run 3 twice");
  EXPECT_FALSE(std::filesystem::exists(dir / "none.db")) << "refused before the session file was opened";
}

TEST(VerbCompare, TwoRunsGetTheExpertPreferencesOfTwoTagsAboveTheMinimumSupport) {
  const auto dir = scratch_dir("compare-two-runs");
  const auto db = dir / "s.db";
  const auto demo = source_dir() / "assets" / "models" / "demo-moe";
  for (const char* prompt : {"def f(x): return x", "roses are red"}) {
    const auto r = run_command(moescope_binary().string() + " run --model " + demo.string() + " --prompt '" + prompt +
                               "' --max-new-tokens 8 --db " + db.string() + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto compare = [&](int64_t min_support) {
    const auto r = run_command(moescope_binary().string() + " compare --db " + db.string() +
                               " --runs 1,2 --json --min-support " + std::to_string(min_support));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  };
  const nlohmann::json all = compare(0);
  ASSERT_EQ(all["tokens"].size(), 2u);
  EXPECT_TRUE(all["permutation_test"].is_null()) << "one run per side has no split to permute";
  size_t listed = 0;
  for (const auto& layer : all["layers"]) {
    EXPECT_GE(layer["jsd_bits"].get<double>(), 0.0);
    for (const auto& e : layer["most_run_specific_experts"]) {
      ++listed;
      const std::string side = e["prefers"];
      EXPECT_TRUE(side == "run 1" || side == "run 2") << side;
      EXPECT_GE(e["lift"].get<double>(), 1.0);
      EXPECT_GE(e["p_value"].get<double>(), 0.0);
      EXPECT_LE(e["p_value"].get<double>(), 1.0);
    }
  }
  EXPECT_GT(listed, 0u);
  // No expert of a 15-token run reaches 1,000 assignments: nothing is listed.
  const nlohmann::json strict = compare(1000);  // held: a range-for over a temporary's member dangles
  for (const auto& layer : strict["layers"]) EXPECT_TRUE(layer["most_run_specific_experts"].empty());
}

}  // namespace
}  // namespace moescope::test
