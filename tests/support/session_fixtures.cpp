#include "tests/support/session_fixtures.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>

#include "sessions/recorder.h"
#include "sessions/sql.h"
#include "tests/support/test_paths.h"

namespace moescope::test {

std::filesystem::path synthetic_session(const std::string& label, const std::vector<SessionRun>& runs) {
  auto path = scratch_dir(label) / "s.db";
  sessions::SessionWriter writer(path, "test");
  const int64_t model_id = writer.add_model(synthetic_model());
  for (const SessionRun& run : runs) record_synthetic_run(writer, model_id, run.spec, run.tag);
  writer.flush();
  return path;
}

std::filesystem::path two_run_session(const std::string& label) {
  return synthetic_session(label, {{.spec = {.seed = 1}, .tag = "a"}, {.spec = {.seed = 2}, .tag = "b"}});
}

void raw_exec(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::string query_text(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  const unsigned char* text = stmt && sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : nullptr;
  std::string result = text ? reinterpret_cast<const char*>(text) : "";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::string bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string open_error(const std::filesystem::path& path, sessions::OpenMode mode) {
  try {
    sessions::open_session(path, mode);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string schema_of(const std::filesystem::path& path) {
  sessions::Connection connection(path, SQLITE_OPEN_READONLY);
  sessions::Statement rows =
      connection.prepare("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name");
  std::string text;
  while (rows.step()) {
    for (int c = 0; c < 4; ++c) text += rows.column_text(c) + "|";
    text += "\n";
  }
  return text;
}

}  // namespace moescope::test
