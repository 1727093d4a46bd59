// Where runs are recorded when no --db is given: one session file in the user's data directory
// ($XDG_DATA_HOME/moescope, else ~/.local/share/moescope), which `report` and the GUI list.
#pragma once

#include <filesystem>

namespace moescope::sessions {

std::filesystem::path default_session_dir();
std::filesystem::path default_session_path();  // default_session_dir() / "sessions.moescope"

}  // namespace moescope::sessions
