#include "sessions/default_path.h"

#include <cstdlib>

namespace moescope::sessions {

std::filesystem::path default_session_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "moescope";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".local" / "share" / "moescope";
  return std::filesystem::temp_directory_path() / "moescope";
}

std::filesystem::path default_session_path() { return default_session_dir() / "sessions.moescope"; }

}  // namespace moescope::sessions
