#include "core/tokenizer/display_text.h"

#include <cstdio>

#include "core/tokenizer/utf8.h"

namespace moescope {

std::string display_text_from_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 8);
  char escape[12];
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t length = utf8::sequence_length(bytes, pos);
    if (length == 0) {
      std::snprintf(escape, sizeof escape, "\\x%02X",
                    static_cast<unsigned>(static_cast<uint8_t>(bytes[pos])));
      out += escape;
      ++pos;
      continue;
    }
    const char32_t c = utf8::decode_at(bytes, pos, length);
    if (c == ' ') {
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
    } else if (c >= 0x80 && c <= 0x9F) {
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
      out += escape;
    } else {
      out.append(bytes.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

std::string display_text_of_unknown_id(int32_t id) { return "<unknown id " + std::to_string(id) + ">"; }

}  // namespace moescope
