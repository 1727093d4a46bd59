// Where an export may be written, and writing it so that it appears whole or not at all.
// `export --out s.db` once overwrote the session it was reading. An export target is refused when
// it is the session being read (by device and inode, so links and aliases such as /proc/self/fd/N
// count, and by name for the session's -wal, -shm and -journal files), or when it already exists
// and is not a previous export of the same format (recognised by its content). Every export is
// written into a staging folder beside the target and moved into place only once complete, so a
// failure (a full disk) leaves no partial file and the previous export untouched; a CSV folder is
// swapped whole, so no file of an older export is left beside the new ones looking current.
#pragma once

#include <filesystem>

#include "sessions/export.h"

namespace moescope::sessions {

class ExportTarget {
 public:
  // Refuses (InputError) a target that must not be written, then creates the staging folder.
  ExportTarget(const std::filesystem::path& session, ExportFormat format, const std::filesystem::path& out);
  ~ExportTarget();  // removes the staging folder with whatever it holds (a failed or replaced export)
  ExportTarget(const ExportTarget&) = delete;
  ExportTarget& operator=(const ExportTarget&) = delete;

  // Where the writer writes: a file, or the CSV folder (not yet created), inside the staging folder.
  const std::filesystem::path& staged() const { return staged_; }
  const std::filesystem::path& target() const { return target_; }
  // Moves the finished export into place (one rename, or an atomic exchange of CSV folders).
  void commit();

 private:
  ExportFormat format_;
  std::filesystem::path target_;       // the resolved output path (symbolic links followed)
  std::filesystem::path staging_dir_;  // .moescope-export-XXXXXX beside the target
  std::filesystem::path staged_;
  bool target_exists_ = false;
};

}  // namespace moescope::sessions
