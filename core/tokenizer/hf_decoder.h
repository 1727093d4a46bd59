// tokenizer.json decoders: turn the pieces of a token sequence back into text. Each decoder maps
// a list of strings to a list of strings (as `tokenizers`' decode_chain); the result is joined.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace moescope {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
  virtual bool is_byte_level() const { return false; }
};

// Null JSON -> nullptr. `where` names the file and field for errors.
std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& json, const std::string& where, int depth = 0);

}  // namespace moescope
