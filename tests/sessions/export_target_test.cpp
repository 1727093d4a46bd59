// Focus: an export never writes over its input or over a file it did not make, and appears whole
// or not at all. `export --format json --out s.db` used to overwrite the session and exit 0. Cases:
// the session under its own name, a hard link, a symbolic link, /proc/self/fd/N and its -wal/-shm
// names; an existing file that is not a previous export of the format; a previous export, which is
// replaced; a CSV folder whose older export had more files (none may be left looking current).
// A failure part way (a full disk) is tests/app/session_hardening_cli_test.cpp (it needs a child
// process under a file size limit).
#include "sessions/export_target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>

#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/session_fixtures.h"
#include "tests/support/test_paths.h"

namespace moescope::export_target_test {
namespace {

using test::bytes_of;
using test::two_run_session;

namespace fs = std::filesystem;
using sessions::ExportFormat;

constexpr ExportFormat kFormats[] = {ExportFormat::csv, ExportFormat::json, ExportFormat::chrome_trace,
                                     ExportFormat::sqlite};

std::string export_error(const fs::path& db, ExportFormat format, const fs::path& out, sessions::ExportOptions options = {}) {
  try {
    sessions::export_session(db, format, out, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::set<std::string> names_in(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
  return names;
}

TEST(ExportTarget, Case1_TheSessionItselfUnderAnyNameIsRefused) {
  auto db = two_run_session("target-self");
  const std::string before = bytes_of(db);
  const fs::path folder = db.parent_path();
  fs::create_hard_link(db, folder / "hard.db");
  fs::create_symlink(db, folder / "soft.db");
  fs::create_directory(folder / "sub");
  const int fd = ::open(db.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const std::vector<fs::path> aliases = {db, folder / "hard.db", folder / "soft.db", folder / "sub" / ".." / "s.db",
                                         "/proc/self/fd/" + std::to_string(fd)};
  for (ExportFormat format : kFormats) {
    for (const fs::path& alias : aliases) {
      const std::string error = export_error(db, format, alias);
      EXPECT_EQ(error, alias.string() +
                           ": is the session being exported; an export never writes over its input (choose another --out)")
          << "format " << static_cast<int>(format);
    }
    // SQLite's side files, whether or not they exist right now.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      const std::string error = export_error(db, format, db.string() + suffix);
      EXPECT_NE(error.find("is a file SQLite keeps beside the session"), std::string::npos) << error;
    }
  }
  ::close(fd);
  EXPECT_EQ(bytes_of(db), before);
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), 2u);
  std::set<std::string> left = names_in(folder);
  std::erase_if(left, [](const std::string& name) { return name.starts_with("s.db-"); });  // SQLite's own
  EXPECT_EQ(left, (std::set<std::string>{"s.db", "hard.db", "soft.db", "sub"})) << "no staging folder may be left behind";
}

TEST(ExportTarget, Case2_AFileThatIsNotAPreviousExportOfTheFormatIsRefused) {
  auto db = two_run_session("target-foreign");
  const fs::path notes = db.parent_path() / "notes.txt";
  std::ofstream(notes) << "my notes\n";
  for (ExportFormat format : kFormats) {
    EXPECT_NE(export_error(db, format, notes), "") << static_cast<int>(format);
    EXPECT_EQ(bytes_of(notes), "my notes\n");
  }
  EXPECT_EQ(export_error(db, ExportFormat::json, notes),
            notes.string() +
                ": exists and is not a previous moescope json export; refusing to overwrite it (remove it or choose another name)");
  // A trace is not a previous JSON export, nor the other way round.
  const fs::path trace = db.parent_path() / "t.json";
  sessions::export_session(db, ExportFormat::chrome_trace, trace);
  EXPECT_NE(export_error(db, ExportFormat::json, trace).find("is not a previous moescope json export"), std::string::npos);
  // The folder holding the session is no CSV export.
  // (s.db, or the -wal or -shm beside it, whichever the folder lists first.)
  const std::string in_folder = export_error(db, ExportFormat::csv, db.parent_path());
  EXPECT_EQ(in_folder.rfind(db.parent_path().string() + ": holds s.db", 0), 0u) << in_folder;
  EXPECT_TRUE(in_folder.ends_with("; choose another folder")) << in_folder;
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), 2u);
}

TEST(ExportTarget, Case3_APreviousExportIsReplacedWhole) {
  auto db = two_run_session("target-again");
  const fs::path out = test::scratch_dir("target-again-out");
  for (ExportFormat format : {ExportFormat::json, ExportFormat::chrome_trace}) {
    const fs::path file = out / ("x" + std::to_string(static_cast<int>(format)));
    sessions::export_session(db, format, file);
    const std::string all_runs = bytes_of(file);
    sessions::export_session(db, format, file, {.run_id = 2});
    EXPECT_LT(bytes_of(file).size(), all_runs.size());
  }
  // CSV: every run, then one run into the same folder. The first export's scores_run_1.csv would
  // otherwise sit beside the new tables looking current.
  const fs::path csv = out / "csv";
  sessions::export_session(db, ExportFormat::csv, csv);
  EXPECT_TRUE(fs::exists(csv / "scores_run_1.csv"));
  sessions::export_session(db, ExportFormat::csv, csv, {.run_id = 2});
  std::set<std::string> names = names_in(csv);
  EXPECT_FALSE(names.contains("scores_run_1.csv"));
  EXPECT_TRUE(names.contains("scores_run_2.csv"));
  EXPECT_TRUE(names.contains("runs.csv"));
  EXPECT_EQ(names_in(out).size(), 3u) << "no staging folder may be left behind";
  // An existing empty folder takes a CSV export.
  fs::create_directory(out / "empty");
  EXPECT_EQ(export_error(db, ExportFormat::csv, out / "empty"), "");
  // A symbolic link to a previous export: the export it names is replaced, the link stays.
  fs::create_symlink(out / "x1", out / "link.json");
  EXPECT_EQ(export_error(db, ExportFormat::json, out / "link.json"), "");
  EXPECT_TRUE(fs::is_symlink(out / "link.json"));
}

TEST(ExportTarget, Case4_AFolderWithOtherFilesIsRefusedForCsv) {
  auto db = two_run_session("target-csv-foreign");
  const fs::path csv = db.parent_path() / "csv";
  sessions::export_session(db, ExportFormat::csv, csv);
  std::ofstream(csv / "analysis.py") << "print(1)\n";
  EXPECT_EQ(export_error(db, ExportFormat::csv, csv),
            csv.string() +
                ": is a folder holding analysis.py, not a previous moescope csv export; choose a new or empty folder");
  EXPECT_TRUE(fs::exists(csv / "analysis.py"));
  // A hard link to the session inside an export folder, under an export's name.
  fs::remove(csv / "analysis.py");
  fs::remove(csv / "timings.csv");
  fs::create_hard_link(db, csv / "timings.csv");
  EXPECT_NE(export_error(db, ExportFormat::csv, csv).find("holds timings.csv, which is the session being exported"),
            std::string::npos);
}

}  // namespace
}  // namespace moescope::export_target_test
