// Finding the bundled assets (demo model, prompt sets) from an installed or a built binary, and
// reading a prompt set (JSONL: one {"text": ..., "tag": ...} object per line).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace moescope::ui {

// $MOESCOPE_ASSETS, else ./assets, else assets beside or above the executable; empty if none.
std::filesystem::path find_assets_dir();
// Folders under assets/models holding a config.json.
std::vector<std::filesystem::path> demo_models();
// assets/prompts/*.jsonl
std::vector<std::filesystem::path> prompt_sets();

struct PromptItem {
  std::string text;
  std::string tag;
};
// Throws InputError naming the file and line of the first malformed entry.
std::vector<PromptItem> load_prompt_set(const std::filesystem::path& file);

}  // namespace moescope::ui
