// Focus: a session file whose schema differs in anything from the one this build creates is
// refused, for reading and before anything is written into it, with the reason. Each case plants
// one hostile object with a plain SQLite connection, as another program (or an attacker) would:
// an index over zeroblob(...) (a 3-prompt record took 30 s and 1.1 GB), a runs table rebuilt
// without its primary key (record reported success while its runs were lost), a trigger, a view.
// Also: creation is one exclusive step, so threads opening a file that does not exist yet all
// succeed (the real binary's race is tests/app/session_hardening_cli_test.cpp).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "sessions/recorder.h"
#include "sessions/schema.h"
#include "sessions/session_file.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/session_fixtures.h"
#include "tests/support/test_paths.h"

namespace moescope::schema_check_test {
namespace {

using test::bytes_of;
using test::open_error;
using test::query_text;
using test::raw_exec;

using sessions::open_session;
using sessions::OpenMode;

std::filesystem::path one_run_session(const std::string& label) {
  return test::synthetic_session(label, {{.spec = {.prompt_tokens = 20}}});
}

// The file is refused for writing (and left byte for byte as it was) and for reading, with `reason`.
void expect_refused(const std::filesystem::path& path, const std::string& reason) {
  raw_exec(path, "PRAGMA journal_mode = WAL; PRAGMA wal_checkpoint(TRUNCATE);");
  const std::string before = bytes_of(path);
  const std::string write_error = open_error(path, OpenMode::write);
  EXPECT_EQ(write_error.rfind(path.string() + ": ", 0), 0u) << write_error;
  EXPECT_NE(write_error.find(reason), std::string::npos) << write_error;
  EXPECT_EQ(bytes_of(path), before) << "the refused file was written";
  const std::string read_error = open_error(path, OpenMode::read);
  EXPECT_NE(read_error.find(reason), std::string::npos) << read_error;
}

TEST(SchemaCheck, Case1_AFileThisBuildWroteOpens) {
  auto path = one_run_session("schema-ok");
  EXPECT_EQ(open_error(path, OpenMode::write), "");
  EXPECT_EQ(open_error(path, OpenMode::read), "");
}

TEST(SchemaCheck, Case2_AnAddedIndexIsRefused) {
  auto path = one_run_session("schema-zeroblob");
  raw_exec(path, "CREATE INDEX idx_x ON routing(zeroblob(16 + position));");
  expect_refused(path, "unexpected index 'idx_x' on table 'routing'; this file was not written by moescope");
}

TEST(SchemaCheck, Case3_RunsRebuiltWithoutItsPrimaryKeyIsRefused) {
  auto path = one_run_session("schema-no-pk");
  // The same column names, types, constraints and order; only the key is gone.
  std::string ddl = query_text(path, "SELECT sql FROM sqlite_schema WHERE name = 'runs'");
  ASSERT_NE(ddl.find("CREATE TABLE runs("), std::string::npos) << ddl;
  ASSERT_NE(ddl.find("id INTEGER PRIMARY KEY,"), std::string::npos) << ddl;
  ddl.replace(ddl.find("CREATE TABLE runs("), 18, "CREATE TABLE runs2(");
  ddl.replace(ddl.find("id INTEGER PRIMARY KEY,"), 23, "id INTEGER,");
  raw_exec(path, ddl + "; INSERT INTO runs2 SELECT * FROM runs; DROP INDEX runs_by_prompt; DROP TABLE runs;"
                       " ALTER TABLE runs2 RENAME TO runs; CREATE INDEX runs_by_prompt ON runs(prompt_id);");
  expect_refused(path, "table 'runs' has 'id INTEGER' as column 1 where moescope has 'id INTEGER PRIMARY KEY");
}

TEST(SchemaCheck, Case4_AnAddedTriggerIsRefused) {
  auto path = one_run_session("schema-trigger");
  raw_exec(path, "CREATE TRIGGER t AFTER INSERT ON runs BEGIN DELETE FROM runs WHERE id = new.id; END;");
  expect_refused(path, "contains a trigger ('t'); moescope session files never do");
}

TEST(SchemaCheck, Case5_AnAddedViewIsRefused) {
  auto path = one_run_session("schema-view");
  raw_exec(path, "CREATE VIEW everything AS SELECT * FROM routing;");
  expect_refused(path, "contains a view ('everything'); moescope session files never do");
}

TEST(SchemaCheck, Case6_ConstraintsAndIndexesChangedInPlaceAreRefused) {
  // A unique index where moescope has a plain one, under the same name.
  auto unique = one_run_session("schema-unique");
  raw_exec(unique, "DROP INDEX runs_by_prompt; CREATE UNIQUE INDEX runs_by_prompt ON runs(prompt_id);");
  expect_refused(unique, "index 'runs_by_prompt' on table 'runs' has 'UNIQUE' as property 1");
  // A partial index under the expected name.
  auto partial = one_run_session("schema-partial");
  raw_exec(partial, "DROP INDEX timings_by_run; CREATE INDEX timings_by_run ON timings(run_id, step) WHERE step > 0;");
  expect_refused(partial, "index 'timings_by_run' on table 'timings' has 'partial (WHERE ...)' as property");
  // The CHECK on runs.status removed through writable_schema: only the declaration tells.
  auto check = one_run_session("schema-check");
  raw_exec(check,
           "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, "
           "'CHECK(status IN (''recording'', ''complete'', ''failed''))', '') WHERE name = 'runs';");
  expect_refused(check, "table 'runs' is declared differently (constraints, defaults or expressions)");
  // A generated column appended to a table.
  auto generated = one_run_session("schema-generated");
  raw_exec(generated, "ALTER TABLE tokens ADD COLUMN big BLOB AS (zeroblob(1000000)) VIRTUAL;");
  expect_refused(generated, "table 'tokens' has unexpected column 'big'");
  // Statistics that steer SQLite's query planner.
  auto stats = one_run_session("schema-stat1");
  raw_exec(stats, "ANALYZE;");
  expect_refused(stats, "unexpected table 'sqlite_stat1'");
}

TEST(SchemaCheck, Case7_AnOlderFileIsCheckedBeforeItIsUpgraded) {
  // Version 1's own DDL plus an index of its own: refused as version 1, before the upgrade writes.
  auto path = test::scratch_dir("schema-v1") / "old.db";
  raw_exec(path, std::string(sessions::migrations()[0].sql) + "PRAGMA application_id = " +
                     std::to_string(sessions::kApplicationId) +
                     "; PRAGMA user_version = 1; CREATE INDEX extra ON tokens(token_id);");
  expect_refused(path, "unexpected index 'extra' on table 'tokens'");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Threads race to create one file, as processes do (each thread has its own connection, so SQLite
// locks the file between them exactly as between processes). Before creation became one exclusive
// step some failed with "cannot upgrade ... from schema version 0 to 1 (table sessions already
// exists)".
TEST(SchemaCheck, Case8_ConcurrentFirstOpensOfANewFileAllSucceed) {
  constexpr int kRounds = 30;
  constexpr int kThreads = 4;
  for (int round = 0; round < kRounds; ++round) {
    auto path = test::scratch_dir("race-" + std::to_string(round)) / "new.db";
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          sessions::SessionWriter writer(path, "race");
          test::record_synthetic_run(writer, writer.add_model(test::synthetic_model()), {.prompt_tokens = 4});
          writer.flush();
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "round " << round << ", thread " << t;
    EXPECT_EQ(open_session(path, OpenMode::read).query_int("SELECT count(*) FROM runs WHERE status = 'complete'"),
              kThreads);
  }
}

}  // namespace
}  // namespace moescope::schema_check_test
