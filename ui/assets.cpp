#include "ui/assets.h"

#include <algorithm>
#include <cstdlib>

namespace moescope::ui {

std::filesystem::path find_assets_dir() {
  std::error_code ec;
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("MOESCOPE_ASSETS"); env && *env) candidates.emplace_back(env);
  // Beside the executable first (a build tree inside the source tree, or an installed prefix:
  // bin/moescope and share/moescope/assets), so the app finds its demo from any working folder.
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      candidates.push_back(dir / "share" / "moescope" / "assets");
      candidates.push_back(dir / "assets");
    }
  }
  candidates.push_back(std::filesystem::current_path(ec) / "assets");
  for (const auto& c : candidates) {
    if (std::filesystem::is_directory(c / "models", ec) || std::filesystem::is_directory(c / "prompts", ec)) return c;
  }
  return {};
}

std::vector<std::filesystem::path> demo_models() {
  std::vector<std::filesystem::path> out;
  const auto assets = find_assets_dir();
  std::error_code ec;
  if (assets.empty() || !std::filesystem::is_directory(assets / "models", ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(assets / "models", ec)) {
    if (std::filesystem::exists(e.path() / "config.json", ec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::filesystem::path> prompt_sets() {
  std::vector<std::filesystem::path> out;
  const auto assets = find_assets_dir();
  std::error_code ec;
  if (assets.empty() || !std::filesystem::is_directory(assets / "prompts", ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(assets / "prompts", ec)) {
    if (e.path().extension() == ".jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace moescope::ui
