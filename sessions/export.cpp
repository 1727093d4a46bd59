#include "sessions/export.h"

#include <string>

#include "core/error.h"
#include "sessions/export_target.h"
#include "sessions/reader.h"

namespace moescope::sessions {

ExportFormat parse_export_format(std::string_view name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "json") return ExportFormat::json;
  if (name == "chrome-trace") return ExportFormat::chrome_trace;
  if (name == "sqlite") return ExportFormat::sqlite;
  fail_input("unknown export format '" + std::string(name) +
             "' (expected csv, json, chrome-trace or sqlite)");
}

namespace {

// The writers name the file they write, which is the staged one; the user knows the target.
std::string about_target(const std::string& message, const ExportTarget& target) {
  std::string text = message;
  const std::string staged = target.staged().string();
  for (size_t at = text.find(staged); at != std::string::npos; at = text.find(staged, at))
    text.replace(at, staged.size(), target.target().string());
  return text;
}

}  // namespace

void export_session(const std::filesystem::path& db, ExportFormat format, const std::filesystem::path& out,
                    const ExportOptions& options) {
  SessionReader reader(db);
  ExportTarget target(db, format, out);
  // Every run exported passes the reader's one check of stored values before anything is written
  // (the CSV tables are read with their own SQL, so they would not reach it otherwise); a missing
  // run fails here too.
  if (options.run_id) {
    reader.check_run(*options.run_id);
  } else {
    for (const RunSummary& run : reader.runs()) reader.check_run(run.id);
  }
  try {
    switch (format) {
      case ExportFormat::csv:
        export_csv(reader, target.staged(), options);
        break;
      case ExportFormat::json:
        export_json(reader, target.staged(), options);
        break;
      case ExportFormat::chrome_trace:
        export_chrome_trace(reader, target.staged(), options);
        break;
      case ExportFormat::sqlite:
        export_sqlite(reader, target.staged(), options);
        break;
    }
  } catch (const InputError& e) {
    throw InputError(about_target(e.what(), target));
  } catch (const ResourceError& e) {
    throw ResourceError(about_target(e.what(), target));
  }
  target.commit();
}

}  // namespace moescope::sessions
