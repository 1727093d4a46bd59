#include "core/terminal_text.h"

#include <cstdint>
#include <cstdio>

#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

// U+202A..U+202E (embeddings and overrides) and U+2066..U+2069 (isolates).
bool is_bidi_control(char32_t c) { return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069); }

}  // namespace

std::string terminal_safe(std::string_view text, bool multi_line) {
  std::string out;
  out.reserve(text.size());
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
    if (multi_line && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(escape, sizeof escape, "\\x%02X", static_cast<unsigned>(c));
      out += escape;
    } else if ((c >= 0x80 && c <= 0x9F) || is_bidi_control(c)) {
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
