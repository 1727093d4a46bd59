#include "ui/settings.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moescope::ui {

std::filesystem::path config_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "moescope";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".config" / "moescope";
  return std::filesystem::temp_directory_path() / "moescope-config";
}

Settings load_settings(const std::filesystem::path& file) {
  Settings s;
  std::ifstream in(file);
  if (!in) return s;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return s;
  auto get = [&](const char* key, auto& out) {
    using T = std::decay_t<decltype(out)>;
    if (auto it = j.find(key); it != j.end()) {
      try {
        out = it->template get<T>();
      } catch (const nlohmann::json::exception&) {
        // A wrong type for one key keeps that key's default.
      }
    }
  };
  get("dark_theme", s.dark_theme);
  std::string map = std::string(colormap_name(s.colormap));
  get("colormap", map);
  s.colormap = map == "magma" ? Colormap::magma : Colormap::viridis;
  get("ui_scale", s.ui_scale);
  get("window_width", s.window_width);
  get("window_height", s.window_height);
  get("recent_sessions", s.recent_sessions);
  get("recent_models", s.recent_models);
  s.ui_scale = std::clamp(s.ui_scale, 0.0f, 4.0f);
  s.window_width = std::clamp(s.window_width, 640, 8192);
  s.window_height = std::clamp(s.window_height, 480, 8192);
  return s;
}

void save_settings(const Settings& s, const std::filesystem::path& file) {
  nlohmann::json j = {{"dark_theme", s.dark_theme},           {"colormap", std::string(colormap_name(s.colormap))},
                      {"ui_scale", s.ui_scale},               {"window_width", s.window_width},
                      {"window_height", s.window_height},     {"recent_sessions", s.recent_sessions},
                      {"recent_models", s.recent_models}};
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const auto tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << '\n';
    if (!out) throw ResourceError("cannot write settings file " + tmp);
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw ResourceError("cannot write settings file " + file.string() + ": " + ec.message());
}

void remember_recent(std::vector<std::string>& list, const std::string& entry) {
  list.erase(std::remove(list.begin(), list.end(), entry), list.end());
  list.insert(list.begin(), entry);
  if (list.size() > 10) list.resize(10);
}

}  // namespace moescope::ui
