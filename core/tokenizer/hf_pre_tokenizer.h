// tokenizer.json pre-tokenizers: Sequence, Split (literal or Oniguruma regex, every split
// behaviour), ByteLevel, Metaspace and Digits. Each cuts text pieces into smaller pieces ("words") that
// the BPE model then encodes one by one.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace moescope {

struct PreToken {
  std::string text;
  bool at_text_start = false;  // begins at offset 0 of the original text (Metaspace "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their sub-pieces, in order; empty pieces are dropped.
  virtual void apply(std::vector<PreToken>& pieces) const = 0;
  // True when this pre-tokenizer maps bytes to the byte-level alphabet (display needs to know).
  virtual bool is_byte_level() const { return false; }
};

// Null JSON -> nullptr. `where` names the file and field for errors.
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& json, const std::string& where,
                                                  int depth = 0);

// How a Split keeps the matched delimiters (the names are those of tokenizer.json).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Cuts `text` at the pattern's matches, as `tokenizers`' NormalizedString::split: returns the
// [begin, end) ranges of the resulting non-empty pieces.
struct TextRange {
  size_t begin;
  size_t end;
};
std::vector<TextRange> split_ranges(size_t text_size, const std::vector<std::pair<size_t, size_t>>& matches,
                                    SplitBehavior behavior, bool invert);

}  // namespace moescope
