#include "sessions/default_path.h"

#include <cstdlib>

#include "core/error.h"

namespace moescope::sessions {

std::filesystem::path default_session_path() {
  // The XDG base directory spec says relative values are invalid and must be ignored.
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/') {
    return std::filesystem::path(xdg) / "moescope" / "sessions.db";
  }
  if (const char* home = std::getenv("HOME"); home && *home == '/') {
    return std::filesystem::path(home) / ".local" / "share" / "moescope" / "sessions.db";
  }
  fail_input("no default session file: neither XDG_DATA_HOME nor HOME is an absolute path; pass --db FILE");
}

}  // namespace moescope::sessions
