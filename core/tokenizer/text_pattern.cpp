#include "core/tokenizer/text_pattern.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moescope {

TextPattern TextPattern::from_json(const nlohmann::json& json, const std::string& where) {
  if (json.is_object() && json.size() == 1) {
    const auto string = json.find("String");
    if (string != json.end() && string->is_string()) return literal(string->get<std::string>());
    const auto regex = json.find("Regex");
    if (regex != json.end() && regex->is_string()) {
      TextPattern pattern;
      pattern.regex_ = std::make_shared<const CompiledRegex>(regex->get<std::string>(), where);
      return pattern;
    }
  }
  fail_input(where + ": pattern must be {\"String\": \"...\"} or {\"Regex\": \"...\"}");
}

TextPattern TextPattern::literal(std::string text) {
  TextPattern pattern;
  pattern.literal_ = std::move(text);
  return pattern;
}

std::vector<std::pair<size_t, size_t>> TextPattern::find_all(std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<size_t, size_t>> matches;
  if (literal_.empty()) return matches;
  size_t from = 0;
  while (true) {
    const size_t at = text.find(literal_, from);
    if (at == std::string_view::npos) break;
    matches.emplace_back(at, at + literal_.size());
    from = at + literal_.size();
  }
  return matches;
}

std::string TextPattern::replace_all(std::string_view text, std::string_view content) const {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (const auto& [begin, end] : find_all(text)) {
    out.append(text.substr(copied, begin - copied));
    out.append(content);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace moescope
