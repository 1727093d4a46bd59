// `moescope export`: a session as CSV tables, JSON, a Chrome/Perfetto trace or a compacted SQLite copy.
#include <cstdio>

#include "app/checked_flags.h"
#include "app/verb_registry.h"
#include "core/terminal_text.h"
#include "sessions/default_path.h"
#include "sessions/export.h"

namespace moescope {
namespace {

struct ExportArgs {
  std::string db;
  std::string format;
  std::string out;
  int64_t run_id = 0;
};

void add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd =
      app.add_subcommand("export", "Export a session: csv (a folder of tables), json, chrome-trace, sqlite");
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  cmd->add_option("--format", args->format, "csv, json, chrome-trace or sqlite")->required();
  cmd->add_option("--out", args->out, "Output folder (csv) or file")->required();
  cmd->add_option("--run", args->run_id, "Only this run")->check(integer_in(1, INT64_MAX));
  cmd->callback([args] {
    auto format = sessions::parse_export_format(args->format);
    std::filesystem::path db =
        args->db.empty() ? sessions::default_session_path() : std::filesystem::path(args->db);
    sessions::ExportOptions options;
    if (args->run_id > 0) options.run_id = args->run_id;
    sessions::export_session(db, format, args->out, options);
    std::fprintf(stderr, "exported %s as %s to %s\n", terminal_safe(db.string()).c_str(),
                 terminal_safe(args->format).c_str(), terminal_safe(args->out).c_str());
  });
}

}  // namespace

MOESCOPE_REGISTER_VERB(export, add_export);

}  // namespace moescope
