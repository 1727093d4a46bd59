// Added and special tokens of tokenizer.json ("<s>", "<｜begin▁of▁sentence｜>"...): found in the
// text before the model runs, leftmost-longest like `tokenizers`' Aho-Corasick, with the token
// flags lstrip / rstrip / single_word honoured.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool normalized = false;  // matched in the normalized text rather than the raw text
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of text after splitting: either an added token's id, or text for the model.
struct TextSegment {
  std::string text;
  int32_t token_id = -1;  // >= 0 for an added token
  size_t begin = 0;       // byte offset in the string that was split
};

// Matches one set of added tokens (those with the same `normalized` flag) in text.
class AddedTokenMatcher {
 public:
  // `patterns[i]` is what to look for for `tokens[i]` (its content, normalized when it matches
  // normalized text).
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns);

  // Splits `text` into model text and added tokens. Empty segments are not returned.
  std::vector<TextSegment> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> edges;  // byte -> child node
    int32_t token = -1;                              // index into tokens_ of a token ending here
  };
  // The longest token starting at `pos`: (token index, end), or (-1, pos).
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t pos) const;

  std::vector<Node> nodes_;  // trie over pattern bytes; nodes_[0] is the root
  std::vector<AddedToken> tokens_;
};

}  // namespace moescope
