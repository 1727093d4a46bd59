// Where runs go when no --db is given: one session file under the user's data directory, which
// `report` and the GUI list by default.
#pragma once

#include <filesystem>

namespace moescope::sessions {

// $XDG_DATA_HOME/moescope/sessions.db, else ~/.local/share/moescope/sessions.db. Only computes the
// path; InputError when neither XDG_DATA_HOME nor HOME is set to an absolute path.
std::filesystem::path default_session_path();

}  // namespace moescope::sessions
