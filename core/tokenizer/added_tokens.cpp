#include "core/tokenizer/added_tokens.h"

#include <unicode/uchar.h>

#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

// Rust's char::is_whitespace and `tokenizers`' word characters (alphanumeric or '_').
bool is_whitespace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }
bool is_word_character(char32_t c) {
  if (c == '_') return true;
  const auto type = u_charType(static_cast<UChar32>(c));
  const bool numeric = type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
  return numeric || u_isUAlphabetic(static_cast<UChar32>(c));
}

// The code point that ends text[0, end), and its start; text is valid UTF-8.
std::pair<char32_t, size_t> last_code_point(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  const size_t length = utf8::sequence_length(text, start);
  if (length == 0 || start + length != end) return {0xFFFD, end - 1};
  return {utf8::decode_at(text, start, length), start};
}

char32_t code_point_at(std::string_view text, size_t pos, size_t* length) {
  *length = utf8::sequence_length(text, pos);
  if (*length == 0) {
    *length = 1;
    return 0xFFFD;
  }
  return utf8::decode_at(text, pos, *length);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens,
                                     const std::vector<std::string>& patterns)
    : nodes_(1) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& pattern = patterns[i];
    if (pattern.empty()) continue;
    int32_t node = 0;
    for (char ch : pattern) {
      const auto byte = static_cast<uint8_t>(ch);
      int32_t child = -1;
      for (const auto& [edge_byte, target] : nodes_[node].edges) {
        if (edge_byte == byte) child = target;
      }
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].edges.emplace_back(byte, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    if (nodes_[node].token < 0) {  // the first of duplicate patterns wins
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(tokens[i]);
    }
  }
}

std::pair<int32_t, size_t> AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  int32_t best = -1;
  size_t best_end = pos;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    int32_t child = -1;
    for (const auto& [edge_byte, target] : nodes_[node].edges) {
      if (edge_byte == byte) {
        child = target;
        break;
      }
    }
    if (child < 0) break;
    node = child;
    if (nodes_[node].token >= 0) {
      best = nodes_[node].token;
      best_end = i + 1;
    }
  }
  return {best, best_end};
}

std::vector<TextSegment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<TextSegment> segments;
  const auto push_text = [&](size_t begin, size_t end) {
    if (end > begin) segments.push_back({std::string(text.substr(begin, end - begin)), -1, begin});
  };
  size_t emitted = 0;  // text before this offset is already in `segments`
  size_t pos = 0;
  while (pos < text.size() && !tokens_.empty()) {
    const auto [index, match_end] = longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = pos;
    size_t stop = match_end;
    pos = match_end;  // a match refused below still consumes its text, as Aho-Corasick does
    if (token.single_word) {
      const bool space_before = start == 0 || !is_word_character(last_code_point(text, start).first);
      size_t length = 0;
      const bool space_after = stop == text.size() || !is_word_character(code_point_at(text, stop, &length));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) {
      while (start > emitted) {
        const auto [c, c_start] = last_code_point(text, start);
        if (!is_whitespace(c)) break;
        start = c_start;
      }
      start = std::max(start, emitted);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t length = 0;
        if (!is_whitespace(code_point_at(text, stop, &length))) break;
        stop += length;
      }
      pos = stop;
    }
    push_text(emitted, start);
    segments.push_back({std::string(text.substr(start, stop - start)), token.id, start});
    emitted = stop;
  }
  push_text(emitted, text.size());
  return segments;
}

}  // namespace moescope
