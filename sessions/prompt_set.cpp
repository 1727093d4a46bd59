#include "sessions/prompt_set.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moescope::sessions {

std::vector<PromptEntry> load_prompt_set(const std::filesystem::path& file, const std::string& default_tag) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_input(file.string() + ": cannot read the prompt set");
  std::vector<PromptEntry> prompts;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto where = file.string() + ":" + std::to_string(number);
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) {
      fail_input(where + ": expected a JSON object like {\"text\": \"...\", \"tag\": \"code\"}");
    }
    auto text = entry.find("text");
    if (text == entry.end() || !text->is_string() || text->get<std::string>().empty()) {
      fail_input(where + ": expected a non-empty string \"text\"");
    }
    PromptEntry prompt{text->get<std::string>(), default_tag, number};
    if (auto tag = entry.find("tag"); tag != entry.end()) {
      if (!tag->is_string()) fail_input(where + ": \"tag\" must be a string");
      prompt.tag = tag->get<std::string>();
    }
    prompts.push_back(std::move(prompt));
  }
  if (prompts.empty()) fail_input(file.string() + ": the prompt set holds no prompts");
  return prompts;
}

}  // namespace moescope::sessions
