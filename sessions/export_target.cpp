#include "sessions/export_target.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace moescope::sessions {
namespace {

namespace fs = std::filesystem;

// How each writer's output begins (nlohmann::json writes keys in sorted order), which is how a
// previous export is told from any other file. tests/sessions/export_target_test.cpp exports twice
// to one path in each format, so a writer that changes its first bytes fails there.
constexpr std::string_view kJsonStart = R"({"format":"moescope-session")";
constexpr std::string_view kTraceStart = R"({"displayTimeUnit":"ms","otherData":{"producer":"moescope")";
constexpr std::string_view kCsvRunsHeader = "run_id,session_id,status,error,model_path,";

const char* format_name(ExportFormat format) {
  switch (format) {
    case ExportFormat::csv:
      return "csv";
    case ExportFormat::json:
      return "json";
    case ExportFormat::chrome_trace:
      return "chrome-trace";
    case ExportFormat::sqlite:
      return "sqlite";
  }
  return "?";
}

struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
};

std::optional<FileId> file_id(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileId{info.st_dev, info.st_ino};
}

bool same_file(const std::optional<FileId>& a, const std::optional<FileId>& b) {
  return a && b && a->device == b->device && a->inode == b->inode;
}

bool starts_with_file(const fs::path& file, std::string_view start) {
  std::ifstream in(file, std::ios::binary);
  std::string head(start.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in.gcount() == static_cast<std::streamsize>(start.size()) && head == start;
}

// The names export_csv writes.
bool is_csv_export_name(const std::string& name) {
  for (const char* table : {"runs.csv", "tokens.csv", "steps.csv", "routing.csv", "expert_hits.csv",
                            "capacity_overflow.csv", "timings.csv", "all_to_all.csv", "offload.csv"}) {
    if (name == table) return true;
  }
  const std::string prefix = "scores_run_";
  if (name.size() <= prefix.size() + 4 || name.rfind(prefix, 0) != 0 || !name.ends_with(".csv")) return false;
  for (size_t i = prefix.size(); i < name.size() - 4; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

// The session file and the files SQLite keeps beside it.
class SessionFiles {
 public:
  explicit SessionFiles(const fs::path& session) {
    std::error_code error;
    fs::path real = fs::canonical(session, error);
    if (error) real = fs::absolute(session, error);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      names_.push_back(real.string() + suffix);
      ids_.push_back(file_id(real.string() + suffix));
      ids_.push_back(file_id(session.string() + suffix));
    }
  }
  // "" when `path` is none of them, else what it is.
  std::string which(const fs::path& path, const fs::path& resolved) const {
    const auto id = file_id(path);
    for (size_t i = 0; i < names_.size(); ++i) {
      const char* what = i == 0 ? "the session being exported" : "a file SQLite keeps beside the session";
      if (resolved.string() == names_[i] || same_file(id, ids_[2 * i]) || same_file(id, ids_[2 * i + 1]))
        return what;
    }
    return "";
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::optional<FileId>> ids_;
};

[[noreturn]] void refuse_target(const fs::path& out, const std::string& why) { throw InputError(out.string() + ": " + why); }

void check_csv_folder(const fs::path& out, const fs::path& folder, const SessionFiles& session) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (std::string what = session.which(entry.path(), entry.path()); !what.empty()) {
      refuse_target(out, "holds " + name + ", which is " + what + "; choose another folder");
    }
    if (entry.is_symlink() || !entry.is_regular_file() || !is_csv_export_name(name)) {
      refuse_target(out, "is a folder holding " + name + ", not a previous moescope csv export; choose a new or empty folder");
    }
  }
  if (error) refuse_target(out, "cannot list the folder (" + error.message() + ")");
  if (!fs::is_empty(folder, error) && !starts_with_file(folder / "runs.csv", kCsvRunsHeader)) {
    refuse_target(out, "is a folder whose runs.csv is missing or not a moescope export; choose a new or empty folder");
  }
}

void check_existing(const fs::path& out, const fs::path& target, ExportFormat format, const SessionFiles& session) {
  std::error_code error;
  const fs::file_status status = fs::status(target, error);
  if (format == ExportFormat::csv) {
    if (!fs::is_directory(status)) refuse_target(out, "exists and is not a folder; the csv export writes a folder of tables");
    check_csv_folder(out, target, session);
    return;
  }
  if (format == ExportFormat::sqlite) refuse_target(out, "already exists; the SQLite export writes a new file");
  if (fs::is_directory(status)) refuse_target(out, std::string("is a folder; the ") + format_name(format) + " export writes a file");
  const bool ours = fs::is_regular_file(status) &&
                    starts_with_file(target, format == ExportFormat::json ? kJsonStart : kTraceStart);
  if (!ours) {
    refuse_target(out, std::string("exists and is not a previous moescope ") + format_name(format) +
                    " export; refusing to overwrite it (remove it or choose another name)");
  }
}

}  // namespace

ExportTarget::ExportTarget(const fs::path& session, ExportFormat format, const fs::path& out) : format_(format) {
  if (out.empty()) throw InputError("--out is empty: give the export's path");
  std::error_code error;
  const fs::file_status link = fs::symlink_status(out, error);
  target_exists_ = fs::exists(fs::status(out, error));
  if (fs::is_symlink(link) && !target_exists_) refuse_target(out, "is a symbolic link to nothing; refusing to write through it");
  // Symbolic links followed, so the rename below replaces the file the link names, not the link.
  target_ = target_exists_ ? fs::canonical(out, error) : fs::weakly_canonical(fs::absolute(out), error);
  if (error) refuse_target(out, "cannot resolve the path (" + error.message() + ")");

  const SessionFiles session_files(session);
  if (std::string what = session_files.which(out, target_); !what.empty()) {
    refuse_target(out, "is " + what + "; an export never writes over its input (choose another --out)");
  }
  if (target_exists_) check_existing(out, target_, format, session_files);

  const fs::path folder = target_.parent_path();
  if (format == ExportFormat::csv) fs::create_directories(folder, error);
  std::string pattern = (folder / ".moescope-export-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw ResourceError(out.string() + ": cannot write beside it in " + folder.string() + " (" +
                        std::strerror(errno) + ")");
  }
  staging_dir_ = pattern;
  staged_ = staging_dir_ / target_.filename();
}

ExportTarget::~ExportTarget() {
  std::error_code ignored;
  fs::remove_all(staging_dir_, ignored);
}

void ExportTarget::commit() {
  int rc = 0;
  if (format_ == ExportFormat::sqlite) {
    // Never over a file that appeared since the check.
    rc = ::renameat2(AT_FDCWD, staged_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) rc = ::link(staged_.c_str(), target_.c_str());
  } else if (format_ == ExportFormat::csv && target_exists_) {
    // The old folder and the new one trade places in one step; the old one is then in the
    // staging folder, which the destructor removes.
    rc = ::renameat2(AT_FDCWD, staged_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE);
    if (rc != 0 && errno == EINVAL) {  // a file system without exchange: two renames
      const fs::path previous = staging_dir_ / ".previous";
      rc = ::rename(target_.c_str(), previous.c_str());
      if (rc == 0) rc = ::rename(staged_.c_str(), target_.c_str());
    }
  } else {
    rc = ::rename(staged_.c_str(), target_.c_str());
  }
  if (rc != 0) {
    throw ResourceError(target_.string() + ": cannot move the finished export into place (" +
                        std::strerror(errno) + ")");
  }
}

}  // namespace moescope::sessions
