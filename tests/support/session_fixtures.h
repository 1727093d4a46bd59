// Session files for the sessions and app tests: sessions of synthetic runs made by the real
// recorder, and plain-SQLite access to a file as another program (or an attacker) would have.
// Linked into the sessions and app test binaries only (tests/CMakeLists.txt).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sessions/session_file.h"
#include "tests/sessions/synthetic_run.h"

namespace moescope::test {

struct SessionRun {
  SyntheticSpec spec;
  std::string tag = "code";
};

// scratch_dir(label)/s.db holding `runs`, recorded through SessionWriter (one model).
std::filesystem::path synthetic_session(const std::string& label, const std::vector<SessionRun>& runs);
// Two default-shaped runs, seeds 1 and 2, tagged "a" and "b".
std::filesystem::path two_run_session(const std::string& label);

// Runs SQL on the file with a plain connection (a gtest failure with SQLite's message if it fails).
void raw_exec(const std::filesystem::path& path, const std::string& sql);
// The first column of the first row of `sql`, as text ("" when no row).
std::string query_text(const std::filesystem::path& path, const std::string& sql);
std::string bytes_of(const std::filesystem::path& path);
// Every object of the file's schema (type, name, table, SQL), one line each in name order: two
// files with equal text have the same tables, indexes and triggers.
std::string schema_of(const std::filesystem::path& path);
// The InputError open_session gives, or "" when it opens.
std::string open_error(const std::filesystem::path& path, sessions::OpenMode mode);

}  // namespace moescope::test
