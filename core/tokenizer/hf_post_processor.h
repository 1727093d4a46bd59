// tokenizer.json post-processors, for a single sequence with add_special_tokens: TemplateProcessing
// (e.g. "<s> $A"), Bert/Roberta (cls $A sep), ByteLevel (ids unchanged) and Sequence of those.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Wraps the ids of one encoded sequence with the special tokens.
  virtual void add_special(std::vector<int32_t>& ids) const = 0;
  // The id the template puts first, when it starts with a special token (the BOS).
  virtual std::optional<int32_t> leading_special() const { return std::nullopt; }
  // The largest id add_special can insert, so the tokenizer can refuse one outside its vocabulary.
  virtual std::optional<int32_t> largest_special() const { return std::nullopt; }
};

// Null JSON -> nullptr. `where` names the file and field for errors.
std::unique_ptr<PostProcessor> parse_post_processor(const nlohmann::json& json, const std::string& where,
                                                    int depth = 0);

}  // namespace moescope
