// Finding the bundled assets (demo model, prompt sets) from an installed or a built binary.
// Prompt sets are read with sessions::load_prompt_set.
#pragma once

#include <filesystem>
#include <vector>

namespace moescope::ui {

// $MOESCOPE_ASSETS, else share/moescope/assets or assets beside or above the executable (an
// installed prefix, a build tree), else ./assets; empty if none.
std::filesystem::path find_assets_dir();
// Folders under assets/models holding a config.json.
std::vector<std::filesystem::path> demo_models();
// assets/prompts/*.jsonl
std::vector<std::filesystem::path> prompt_sets();

}  // namespace moescope::ui
