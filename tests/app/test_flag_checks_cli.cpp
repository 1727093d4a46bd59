// Focus: flag values that parse but mean nothing are refused before anything runs or is stored:
// NaN and infinities (in every spelling) for temperature, top-p and capacity; seeds that wrap or
// overflow; thread counts beyond what any machine uses; run ids of 0 or below (which used to mean
// "all runs"); and --max-new-tokens past the context, which used to generate to the limit and then
// store a failed run with nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

test::CommandResult flags_moescope(const std::string& args) {
  return test::run_command("timeout 120 " + test::moescope_binary().string() + " " + args);
}

fs::path flags_model_dir() { return test::golden_model("mixtral-tiny"); }

// Refused: a non-zero exit (not a signal), the flag and `expected` (its range) named, and no
// session file written.
void expect_flag_refused(const std::string& flags, const std::string& flag, const std::string& expected) {
  const auto db = test::scratch_dir("flags") / "s.db";
  const auto o = flags_moescope("run --max-new-tokens 1 --model " + flags_model_dir().string() + " --prompt hi --db " +
                          db.string() + " " + flags);
  EXPECT_NE(o.exit_code, 0) << flags << "\n" << o.output;
  EXPECT_LT(o.exit_code, 128) << flags << "\n" << o.output;
  EXPECT_NE(o.output.find(flag), std::string::npos) << flags << "\n" << o.output;
  EXPECT_NE(o.output.find(expected), std::string::npos) << flags << "\n" << o.output;
  EXPECT_FALSE(fs::exists(db)) << flags;
}

TEST(FlagChecksCli, Case1_NotANumberAndInfinitiesAreRefused) {
  for (const std::string value :
       {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e999", "-0x1p9999", "0x1p-2", "1,5"}) {
    expect_flag_refused("--temperature '" + value + "'", "--temperature", "must be a finite number in [0, 100]");
    expect_flag_refused("--top-p '" + value + "'", "--top-p", "must be a finite number in [0, 1]");
    expect_flag_refused("--enforce-capacity '" + value + "'", "--enforce-capacity",
                   "must be a finite number in [0, 1000000]");
  }
  expect_flag_refused("--top-p 1.5", "--top-p", "[0, 1]");
  expect_flag_refused("--temperature -0.5", "--temperature", "[0, 100]");
}

TEST(FlagChecksCli, Case2_SeedsOutOfRangeAreRefused) {
  for (const std::string value :
       {"-1", "18446744073709551615", "18446744073709551616", "9223372036854775808", "1e3", "0x10"}) {
    expect_flag_refused("--seed '" + value + "'", "--seed", "must be an integer in [0, 9223372036854775807]");
  }
}

TEST(FlagChecksCli, Case3_ThreadCountsPastTheCapAreRefused) {
  for (const std::string value : {"400", "257", "-1", "99999999999"})
    expect_flag_refused("--threads " + value, "--threads", "must be an integer in [0, 256]");
}

TEST(FlagChecksCli, Case4_GoodValuesStillRun) {
  const auto db = test::scratch_dir("flags-good") / "s.db";
  const auto o = flags_moescope(
      "run --max-new-tokens 1 --model " + flags_model_dir().string() + " --prompt hi --db " + db.string() +
      " --temperature 0.7 --top-p 0.9 --seed 9223372036854775807 --threads 2 --enforce-capacity 1.25");
  EXPECT_EQ(o.exit_code, 0) << o.output;
}

TEST(FlagChecksCli, Case5_NonPositiveRunIdsAreRefused) {
  const auto dir = test::scratch_dir("flags-run-ids");
  const auto db = (dir / "s.db").string();
  const auto recorded =
      flags_moescope("run --max-new-tokens 1 --model " + flags_model_dir().string() + " --prompt hi --db " + db);
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;
  for (const std::string value : {"0", "-1", "1x"}) {
    const auto report = flags_moescope("report --db " + db + " --run " + value);
    EXPECT_NE(report.exit_code, 0) << report.output;
    EXPECT_NE(report.output.find("--run"), std::string::npos) << report.output;
    EXPECT_NE(report.output.find("must be an integer in [1, 9223372036854775807]"), std::string::npos)
        << report.output;
    const auto exported = flags_moescope("export --db " + db + " --format json --out " + (dir / "o.json").string() +
                                   " --run " + value);
    EXPECT_NE(exported.exit_code, 0) << exported.output;
    EXPECT_NE(exported.output.find("must be an integer in [1, 9223372036854775807]"), std::string::npos)
        << exported.output;
    EXPECT_FALSE(fs::exists(dir / "o.json"));
  }
  for (const std::string pair : {"0,1", "1,-1", "1,1x"}) {
    const auto compared = flags_moescope("compare --db " + db + " --runs " + pair);
    test::expect_one_clear_line(compared, "--runs expects two run ids (integers of at least 1)");
  }
}

TEST(FlagChecksCli, Case6_MaxNewTokensPastTheContextIsRefusedBeforeGenerating) {
  const auto dir = test::copy_golden_checkpoint("mixtral-tiny", "flags-context");
  std::ifstream in(dir / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["max_position_embeddings"] = 16;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  const auto db = dir / "s.db";
  const auto o =
      flags_moescope("run --max-new-tokens 100 --model " + dir.string() + " --prompt hello --db " + db.string());
  test::expect_one_clear_line(
      o, "tokens; with --max-new-tokens 100 that exceeds the model's max_position_embeddings of 16");
  EXPECT_FALSE(fs::exists(db));  // refused before a run was begun, so no failed run either
  std::ofstream(dir / "prompts.jsonl") << R"({"text": "hello"})"
                                          "\n";
  const auto record = flags_moescope("record --max-new-tokens 16 --model " + dir.string() + " --prompts " +
                               (dir / "prompts.jsonl").string() + " --db " + db.string());
  test::expect_one_clear_line(
      record, "--max-new-tokens 16 leaves no room for a prompt in the model's max_position_embeddings of 16");
}

}  // namespace
}  // namespace moescope
