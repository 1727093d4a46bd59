// A single-file copy for sharing: VACUUM INTO writes a compacted database with no -wal or -shm
// beside it (copying the file itself could leave committed data behind in the WAL). With a run
// filter the other runs are deleted from the copy, which is then compacted again.
#include "core/error.h"
#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/session_file.h"

namespace moescope::sessions {

void export_sqlite(SessionReader& reader, const std::filesystem::path& out_file,
                   const ExportOptions& options) {
  std::error_code error;
  if (std::filesystem::exists(out_file, error)) {
    throw InputError(out_file.string() + ": already exists; the SQLite export writes a new file");
  }
  Statement vacuum = reader.connection().prepare("VACUUM INTO ?");
  vacuum.bind(1, out_file.string());
  try {
    vacuum.run();
  } catch (const SqlError& e) {
    throw ResourceError(out_file.string() + ": cannot write the SQLite export (" + sqlite3_errstr(e.code) +
                        ")");
  }
  if (!options.run_id) return;
  Connection copy(out_file, SQLITE_OPEN_READWRITE);
  harden_connection(copy);
  {
    Transaction transaction(copy);
    for (const char* table : {"tokens", "steps", "routing", "expert_hits", "capacity_overflow", "timings",
                              "all_to_all", "all_to_all_steps", "imported_runs", "offload_steps"}) {
      Statement remove = copy.prepare(std::string("DELETE FROM ") + table + " WHERE run_id <> ?");
      remove.bind(1, *options.run_id).run();
    }
    Statement remove_runs = copy.prepare("DELETE FROM runs WHERE id <> ?");
    remove_runs.bind(1, *options.run_id).run();
    copy.exec("DELETE FROM prompts WHERE id NOT IN (SELECT prompt_id FROM runs WHERE prompt_id IS NOT NULL)");
    copy.exec("DELETE FROM models WHERE id NOT IN (SELECT model_id FROM runs)");
    copy.exec("DELETE FROM sessions WHERE id NOT IN (SELECT session_id FROM runs)");
    transaction.commit();
  }
  copy.exec("VACUUM");
}

}  // namespace moescope::sessions
