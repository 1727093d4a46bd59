#include "sessions/export.h"

#include <string>

#include "core/error.h"
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

void export_session(const std::filesystem::path& db, ExportFormat format, const std::filesystem::path& out,
                    const ExportOptions& options) {
  SessionReader reader(db);
  if (options.run_id) reader.run(*options.run_id);  // a missing run fails before anything is written
  switch (format) {
    case ExportFormat::csv:
      export_csv(reader, out, options);
      break;
    case ExportFormat::json:
      export_json(reader, out, options);
      break;
    case ExportFormat::chrome_trace:
      export_chrome_trace(reader, out, options);
      break;
    case ExportFormat::sqlite:
      export_sqlite(reader, out, options);
      break;
  }
}

}  // namespace moescope::sessions
