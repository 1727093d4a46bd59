// A session file as a SessionSource, read through the sessions reader (sessions/reader.h).
#pragma once

#include <filesystem>
#include <memory>

#include "ui/session_data.h"

namespace moescope::ui {

// Opens read-only; a missing, foreign or corrupt file throws InputError with one line.
std::unique_ptr<SessionSource> open_session_source(const std::filesystem::path& file);

// "attention" -> Phase::attention; unknown names map to nullopt-like false.
bool phase_from_name(std::string_view name, Phase& phase);

}  // namespace moescope::ui
