// Exports of a session for use outside moescope: CSV tables (pandas, spreadsheets), one JSON
// document, a Chrome Trace Event Format file (Perfetto, chrome://tracing) and a compacted single-file
// SQLite copy for sharing (VACUUM INTO, so no -wal file is left behind).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace moescope::sessions {

enum class ExportFormat { csv, json, chrome_trace, sqlite };

// "csv", "json", "chrome-trace", "sqlite"; anything else -> InputError listing them.
ExportFormat parse_export_format(std::string_view name);

struct ExportOptions {
  std::optional<int64_t> run_id;  // one run; default every run
};

// csv: `out` is a directory (created when missing) receiving runs.csv, tokens.csv, steps.csv,
//      routing.csv (top-k columns), expert_hits.csv, capacity_overflow.csv, timings.csv, all_to_all.csv,
//      offload.csv (the expert cache per step and MoE layer of offloaded runs) and
//      scores_run_<id>.csv (position, layer, step, one column per expert).
// json, chrome-trace: `out` is the file written.
// sqlite: `out` must not exist yet.
// `out` must not be the session or its side files, and may exist only as a previous export of the
// same format (export_target.h); the export appears whole at `out` or not at all.
void export_session(const std::filesystem::path& db, ExportFormat format, const std::filesystem::path& out,
                    const ExportOptions& options = {});

// The writers behind export_session (one file each).
class SessionReader;
void export_csv(SessionReader& reader, const std::filesystem::path& out_dir, const ExportOptions& options);
void export_json(SessionReader& reader, const std::filesystem::path& out_file, const ExportOptions& options);
void export_chrome_trace(SessionReader& reader, const std::filesystem::path& out_file,
                         const ExportOptions& options);
void export_sqlite(SessionReader& reader, const std::filesystem::path& out_file,
                   const ExportOptions& options);

}  // namespace moescope::sessions
