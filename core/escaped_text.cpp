#include "core/escaped_text.h"

#include <cstdint>
#include <cstdio>

#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

// U+202A..U+202E (embeddings and overrides) and U+2066..U+2069 (isolates): they reorder what a
// terminal shows after them.
bool is_bidi_control(char32_t c) { return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069); }

}  // namespace

std::string escape_text(std::string_view text, const TextEscapes& escapes) {
  std::string out;
  out.reserve(text.size() + 8);
  char escape[12];
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t length = utf8::sequence_length(text, pos);
    if (length == 0) {
      std::snprintf(escape, sizeof escape, "\\x%02X", static_cast<unsigned>(static_cast<uint8_t>(text[pos])));
      out += escape;
      ++pos;
      continue;
    }
    const char32_t c = utf8::decode_at(text, pos, length);
    if (escapes.keep_newlines_and_tabs && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
    } else if (escapes.space_marker && c == ' ') {
      out += "\xE2\x90\xA3";  // ␣
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(escape, sizeof escape, "\\x%02X", static_cast<unsigned>(c));
      out += escape;
    } else if ((c >= 0x80 && c <= 0x9F) || (escapes.escape_bidi_controls && is_bidi_control(c))) {
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
      out += escape;
    } else {
      out.append(text.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

}  // namespace moescope
