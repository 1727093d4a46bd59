// What the app remembers between launches: theme, colour map, UI scale, window size and recent
// files, as a small JSON file in the user's config dir beside imgui.ini (ImGui's own layout).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ui/colormap.h"

namespace moescope::ui {

struct Settings {
  bool dark_theme = true;
  Colormap colormap = Colormap::viridis;
  float ui_scale = 0.0f;  // 0: follow the monitor's content scale
  int window_width = 1440;
  int window_height = 900;
  std::vector<std::string> recent_sessions;  // most recent first
  std::vector<std::string> recent_models;
};

// $XDG_CONFIG_HOME/moescope, else ~/.config/moescope.
std::filesystem::path config_dir();

// Missing file -> defaults. A file that does not parse is ignored with defaults too: settings
// must never stop the app from starting.
Settings load_settings(const std::filesystem::path& file);
// Throws ResourceError when the file cannot be written.
void save_settings(const Settings& settings, const std::filesystem::path& file);

// Moves `entry` to the front, dropping duplicates, keeping at most 10.
void remember_recent(std::vector<std::string>& list, const std::string& entry);

}  // namespace moescope::ui
