// The {"String": ...} / {"Regex": ...} pattern of tokenizer.json's Replace and Split.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tokenizer/onig_regex.h"

namespace moescope {

class TextPattern {
 public:
  static TextPattern from_json(const nlohmann::json& json, const std::string& where);
  static TextPattern literal(std::string text);

  // Non-overlapping [begin, end) matches, left to right. An empty literal matches nothing.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<const CompiledRegex> regex_;  // set for a Regex pattern
};

}  // namespace moescope
