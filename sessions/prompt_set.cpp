#include "sessions/prompt_set.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"

namespace moescope::sessions {

std::vector<PromptEntry> load_prompt_set(const std::filesystem::path& file, const std::string& default_tag) {
  // Line by line with caps: a prompt set named as /dev/zero or a FIFO is refused, and one endless
  // line cannot grow without bound.
  LineReader in(file, kMaxPromptLineBytes, kMaxPromptSetBytes);
  std::vector<PromptEntry> prompts;
  std::string line;
  while (in.next(line)) {
    const int number = in.line_number();
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
