// Focus: what the binary prints neither lies nor attacks. Tags, paths and error texts holding
// terminal escape sequences print as visible escapes, never as raw control bytes; a record whose
// every prompt failed exits non-zero and says nothing was recorded; `run`'s continuation ends its
// line before "recorded into"; memory the machine cannot give is a clear line, not std::bad_alloc.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sessions/sql.h"
#include "tests/support/cli_checks.h"
#include "tests/support/sanitizer.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

test::CommandResult output_moescope(const std::string& args, const std::string& prefix = "") {
  return test::run_command(prefix + "timeout 120 " + test::moescope_binary().string() + " " + args);
}

fs::path copy_output_model(const std::string& label) {
  return test::copy_golden_checkpoint("mixtral-tiny", "output-" + label);
}

bool has_raw_control_bytes(const std::string& text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n') || c == 0x7F) return true;
  return false;
}

TEST(OutputSafetyCli, Case1_TagWithEscapeSequencesPrintsEscaped) {
  const auto dir = copy_output_model("tag");
  // OSC (set the window title) and CSI (clear the screen) in the tag, a C1 CSI in the prompt text.
  const nlohmann::json prompt = {{"text",
                                  "hello \xC2\x9B"
                                  "2J"},
                                 {"tag", "\x1b]0;pwned\x07\x1b[2J"}};
  std::ofstream(dir / "prompts.jsonl") << prompt.dump() << "\n";
  const auto db = (dir / "s.db").string();
  const auto recorded = output_moescope("record --max-new-tokens 1 --model " + dir.string() + " --prompts " +
                                 (dir / "prompts.jsonl").string() + " --db " + db);
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;
  EXPECT_FALSE(has_raw_control_bytes(recorded.output)) << recorded.output;
  const auto listed = output_moescope("report --db " + db);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_FALSE(has_raw_control_bytes(listed.output)) << listed.output;
  EXPECT_NE(listed.output.find("\\x1B]0;pwn"), std::string::npos)
      << listed.output;  // the tag column is 10 wide
  const auto one = output_moescope("report --run 1 --db " + db);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_FALSE(has_raw_control_bytes(one.output)) << one.output;
  EXPECT_NE(one.output.find("\\x1B]0;pwned\\x07\\x1B[2J"), std::string::npos) << one.output;
}

TEST(OutputSafetyCli, Case2_ErrorTextWithEscapeSequencesPrintsEscaped) {
  const auto o = output_moescope("report --db \"$(printf 'no-such\\033[2J\\033]0;x\\007.db')\"");
  test::expect_one_clear_line(o, "no-such\\x1B[2J\\x1B]0;x\\x07.db");
  EXPECT_FALSE(has_raw_control_bytes(o.output)) << o.output;
}

TEST(OutputSafetyCli, Case3_RecordWhereEveryPromptFailedExitsNonZero) {
  const auto dir = copy_output_model("all-failed");
  std::ifstream in(dir / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["max_position_embeddings"] = 8;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  std::ofstream(dir / "prompts.jsonl") << R"({"text": "one two three four five six seven eight nine"})"
                                          "\n"
                                       << R"({"text": "ten eleven twelve thirteen fourteen fifteen sixteen"})"
                                          "\n";
  const auto o = output_moescope("record --max-new-tokens 1 --model " + dir.string() + " --prompts " +
                          (dir / "prompts.jsonl").string() + " --db " + (dir / "s.db").string());
  EXPECT_EQ(o.exit_code, 1) << o.output;
  EXPECT_NE(o.output.find("moescope: error: none of the 2 prompts was recorded"), std::string::npos)
      << o.output;
  EXPECT_EQ(o.output.find("recorded 2 runs"), std::string::npos) << o.output;
}

TEST(OutputSafetyCli, Case4_RecordWithSomePromptsRecordedExitsZero) {
  const auto dir = copy_output_model("some-failed");
  std::ofstream(dir / "prompts.jsonl") << R"({"text": "hello"})"
                                          "\n"
                                       << R"({"text": "caf\u00e9"})"
                                          "\n";
  const auto o = output_moescope("record --max-new-tokens 1 --model " + dir.string() + " --prompts " +
                          (dir / "prompts.jsonl").string() + " --db " + (dir / "s.db").string());
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("recorded 2 runs (0 failed)"), std::string::npos) << o.output;
}

TEST(OutputSafetyCli, Case5_RunEndsItsContinuationLineBeforeRecordedInto) {
  const auto dir = copy_output_model("newline");
  const auto o = output_moescope("run --max-new-tokens 3 --model " + dir.string() + " --prompt hello --db " +
                          (dir / "s.db").string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  const size_t at = o.output.find("recorded into ");
  ASSERT_NE(at, std::string::npos) << o.output;
  ASSERT_GT(at, 0u);
  EXPECT_EQ(o.output[at - 1], '\n') << o.output;
}

TEST(OutputSafetyCli, Case6_OutOfMemoryIsOneClearLineSayingWhatNeededHowMuch) {
  if (test::kSanitizerAllocator)
    GTEST_SKIP() << "sanitizers reserve terabytes of address space: ulimit -v cannot apply";
  const auto dir = copy_output_model("oom");
  {
    std::ofstream text(dir / "text.txt", std::ios::binary);
    for (int i = 0; i < 600'000; ++i) text << "the quick brown fox ";
  }
  // 12 MB of text (under tokenize's 16 MiB cap) needs ~2.2 GB to tokenize; the address space is capped at ~1 GB,
  // enough for a binary linking cuBLAS to load (400 MB was not). It used to end as "moescope: error: std::bad_alloc".
  const auto o = output_moescope("tokenize --model " + dir.string() + " < " + (dir / "text.txt").string(),
                          "ulimit -v 1000000; ");
  test::expect_one_clear_line(
      o, "out of memory tokenizing the text on stdin of 12000000 bytes (the tokenizer needs about");
  EXPECT_EQ(o.output.find("bad_alloc"), std::string::npos) << o.output;
}

TEST(OutputSafetyCli, Case7_RefusedRowIsDescribedWithoutSqlOrSourcePaths) {
  const auto dir = copy_output_model("check");
  const auto db = dir / "s.db";
  const auto first =
      output_moescope("run --max-new-tokens 1 --model " + dir.string() + " --prompt hi --db " + db.string());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  {
    // The runs table rebuilt with one more CHECK, which every device name breaks.
    sessions::Connection connection(db, SQLITE_OPEN_READWRITE);
    std::string create = connection.query_text("SELECT sql FROM sqlite_schema WHERE name = 'runs'");
    create.insert(create.rfind(')'), ", CHECK(length(device) < 2)");
    connection.exec("PRAGMA legacy_alter_table = ON");
    connection.exec("ALTER TABLE runs RENAME TO runs_old");
    connection.exec(create.c_str());
    connection.exec("DROP TABLE runs_old");
    connection.exec("CREATE INDEX runs_by_prompt ON runs(prompt_id)");
  }
  const auto o =
      output_moescope("run --max-new-tokens 1 --model " + dir.string() + " --prompt hi --db " + db.string());
  // Refused either by the schema check, before writing, or by the constraint as the run is begun:
  // one line naming the file, with no SQL statement and no source path of moescope's in it.
  test::expect_one_clear_line(o, db.string());
  EXPECT_EQ(o.output.find("INSERT INTO"), std::string::npos) << o.output;
  EXPECT_EQ(o.output.find(".cpp:"), std::string::npos) << o.output;
}

}  // namespace
}  // namespace moescope
