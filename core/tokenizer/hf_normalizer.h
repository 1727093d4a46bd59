// tokenizer.json normalizers: Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD. They rewrite the
// text before pre-tokenization; `tokenizers` keeps offsets alongside, we only need the text.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace moescope {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void apply(std::string& text) const = 0;
};

// Null JSON -> nullptr. `where` names the file and field for errors.
std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& json, const std::string& where,
                                             int depth = 0);

}  // namespace moescope
