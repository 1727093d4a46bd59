// Prompt sets for `moescope record`: JSON Lines, one object per line with "text" (required,
// non-empty) and "tag" (optional, e.g. code, poetry, math). Blank lines are skipped.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace moescope::sessions {

struct PromptEntry {
  std::string text;
  std::string tag;
  int line = 0;  // 1-based line in the file, for messages
};

// InputError naming FILE:LINE and what was expected on the first bad line; an empty set is an
// error too.
std::vector<PromptEntry> load_prompt_set(const std::filesystem::path& file,
                                         const std::string& default_tag = "");

}  // namespace moescope::sessions
