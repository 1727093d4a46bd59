// Focus: the second round of hostile session use, through the moescope binary as a user runs it.
// Case1: `export --out s.db` (and through a link) is refused and the session keeps every run.
// Case2: an export that fails part way (file size limit, as a full disk) leaves no partial file
//        and the previous export as it was.
// Case3: two `record`s and a `run` started at once on a session file that does not exist yet,
//        with --db and with the default session file, all succeed (3 of 15 rounds used to fail
//        with "cannot upgrade ... from schema version 0 to 1 (table sessions already exists)").
// Case4: a file with a hostile index is refused before `record` writes into it.
// Case5: an expert id past n_experts gets the same line from report, compare and every export.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/cli_checks.h"
#include "tests/support/session_fixtures.h"

namespace moescope::session_hardening_cli_test {
namespace {

using test::bytes_of;
using test::raw_exec;

namespace fs = std::filesystem;
using test::expect_one_clear_line;

test::CommandResult moescope(const std::string& args, const std::string& prefix = "") {
  return test::run_command(prefix + test::moescope_binary().string() + " " + args);
}

// Two synthetic runs (tags a and b); `prompt_tokens` sets the size of the exports.
fs::path synthetic_session(const std::string& label, int32_t prompt_tokens = 12) {
  auto path = test::scratch_dir(label) / "s.db";
  sessions::SessionWriter writer(path, "test");
  int64_t model_id = writer.add_model(test::synthetic_model());
  test::record_synthetic_run(writer, model_id, {.prompt_tokens = prompt_tokens, .seed = 1}, "a");
  test::record_synthetic_run(writer, model_id, {.prompt_tokens = prompt_tokens, .seed = 2}, "b");
  writer.flush();
  return path;
}

TEST(SessionHardeningCli, Case1_ExportOntoTheSessionIsRefused) {
  auto db = synthetic_session("cli-onto");
  const std::string before = bytes_of(db);
  fs::create_symlink(db, db.parent_path() / "link.db");
  for (const char* format : {"json", "csv", "chrome-trace", "sqlite"}) {
    for (const fs::path& out : {db, db.parent_path() / "link.db"}) {
      expect_one_clear_line(moescope("export --db " + db.string() + " --format " + format + " --out " + out.string()),
                            out.string() + ": is the session being exported; an export never writes over its input");
    }
  }
  EXPECT_EQ(bytes_of(db), before);
  auto listed = moescope("report --db " + db.string());
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(": 2 runs"), std::string::npos) << listed.output;
}

TEST(SessionHardeningCli, Case2_AnExportCutShortLeavesThePreviousOneWhole) {
  auto db = synthetic_session("cli-cut", 2000);
  const fs::path folder = db.parent_path();
  const fs::path json = folder / "s.json";
  ASSERT_EQ(moescope("export --db " + db.string() + " --format json --run 1 --out " + json.string()).exit_code, 0);
  const std::string previous = bytes_of(json);
  ASSERT_LT(previous.size(), 2u * 1024 * 1024);
  // A 2 MiB file size limit (dash counts 512-byte blocks) with SIGXFSZ ignored: the write fails
  // with EFBIG part way through the full export, as on a full disk.
  auto cut = moescope("export --db " + db.string() + " --format json --out " + json.string(), "trap '' XFSZ; ulimit -f 4096; ");
  EXPECT_EQ(cut.exit_code, 1) << cut.output;
  EXPECT_NE(cut.output.find(json.string() + ": write failed"), std::string::npos) << cut.output;
  EXPECT_EQ(bytes_of(json), previous);
  for (const auto& entry : fs::directory_iterator(folder)) {
    EXPECT_EQ(entry.path().filename().string().find(".moescope-export-"), std::string::npos)
        << "staging left behind: " << entry.path();
  }
}

// Runs two `record`s and one `run` at once; each writes its exit code and output beside.
void race_three_writers(const fs::path& dir, const std::string& db_flag, const std::string& env) {
  const std::string model = test::golden_model("mixtral-tiny").string();
  std::ofstream(dir / "p.jsonl") << "{\"text\": \"one two\"}\n";
  const std::string bin = env + test::moescope_binary().string();
  const std::string record = bin + " record --model " + model + " --prompts " + (dir / "p.jsonl").string() +
                             " --max-new-tokens 2 --threads 1 " + db_flag;
  const std::string run = bin + " run --model " + model + " --prompt 'three four' --max-new-tokens 2 --threads 1 " + db_flag;
  std::string script;
  int i = 0;
  for (const std::string& command : {record, record, run}) {
    const std::string out = (dir / ("out" + std::to_string(i++))).string();
    script += "(" + command + " > " + out + " 2>&1; echo $? >> " + out + ") & ";
  }
  test::run_command(script + "wait");
  for (int k = 0; k < 3; ++k) {
    const std::string output = bytes_of(dir / ("out" + std::to_string(k)));
    EXPECT_TRUE(output.ends_with("\n0\n")) << "writer " << k << ": " << output;
  }
}

TEST(SessionHardeningCli, Case3_WritersStartedTogetherOnANewFileAllSucceed) {
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const fs::path dir = test::scratch_dir("cli-race-" + std::to_string(round));
    race_three_writers(dir, "--db " + (dir / "new.db").string(), "");
    auto listed = moescope("report --db " + (dir / "new.db").string());
    EXPECT_NE(listed.output.find(": 3 runs"), std::string::npos) << listed.output;
    // The default session file, under a fresh home whose data folder does not exist yet.
    const fs::path home = dir / "home";
    race_three_writers(dir, "", "env -u XDG_DATA_HOME HOME=" + home.string() + " ");
    auto default_listed = moescope("report --db " + (home / ".local/share/moescope/sessions.db").string());
    EXPECT_NE(default_listed.output.find(": 3 runs"), std::string::npos) << default_listed.output;
  }
}

TEST(SessionHardeningCli, Case4_AHostileIndexIsRefusedBeforeRecording) {
  auto db = synthetic_session("cli-index");
  raw_exec(db, "CREATE INDEX idx_x ON routing(zeroblob(16 + position)); PRAGMA wal_checkpoint(TRUNCATE);");
  const std::string before = bytes_of(db);
  const fs::path prompts = db.parent_path() / "p.jsonl";
  std::ofstream(prompts) << "{\"text\": \"one two\"}\n";
  expect_one_clear_line(moescope("record --model " + test::golden_model("mixtral-tiny").string() + " --prompts " +
                                 prompts.string() + " --max-new-tokens 2 --db " + db.string()),
                        db.string() + ": unexpected index 'idx_x' on table 'routing'; this file was not written by moescope");
  EXPECT_EQ(bytes_of(db), before);
}

TEST(SessionHardeningCli, Case5_EveryConsumerRefusesTheSameBadExpertId) {
  auto db = synthetic_session("cli-consumers");
  raw_exec(db, "UPDATE routing SET expert_0 = 300 WHERE run_id = 1 AND position = 5 AND layer = 2;");
  const std::string line =
      db.string() + ": run 1, table routing: expert id 300 at position 5, layer 2 is outside 0..7 (n_experts 8)";
  const std::string out = (db.parent_path() / "out").string();
  for (const std::string& args : std::vector<std::string>{"report --run 1", "compare --runs 1,2", "compare --tags a,b", "export --format csv --out " + out,
        "export --format json --out " + out, "export --format chrome-trace --out " + out,
        "export --format sqlite --out " + out, "export --format csv --run 1 --out " + out}) {
    SCOPED_TRACE(args);
    expect_one_clear_line(moescope(args + " --db " + db.string()), line);
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace moescope::session_hardening_cli_test
