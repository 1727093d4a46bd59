// Opening a session file safely. Session files come from strangers, so every open, for reading or
// writing, treats the file as untrusted: the header is checked before SQLite sees it, the
// connection runs in defensive mode with triggers, views and untrusted schema functions off, cell
// sizes are checked and nothing is memory-mapped, `quick_check` must pass, and the file must carry
// moescope's application_id, a schema version this build knows and exactly the schema this build
// creates (schema_check.h). Anything else is an InputError with one line naming the file and what
// is wrong.
#pragma once

#include <filesystem>

#include "sessions/sql.h"

namespace moescope::sessions {

enum class OpenMode {
  read,   // the file must exist and be a moescope session; opened read-only
  write,  // created when missing or empty; creation and migration are one exclusive transaction; WAL
};

Connection open_session(const std::filesystem::path& path, OpenMode mode);

// Sets the pragmas and connection flags that make an untrusted file inert (see above). Exposed
// for connections opened elsewhere (the exporter's target files).
void harden_connection(Connection& connection);

}  // namespace moescope::sessions
