#include "core/tokenizer/utf8.h"

namespace moescope::utf8 {
namespace {

// How many bytes of a possibly ill-formed sequence at pos form a "maximal subpart" (Unicode 3.9,
// table 3-7): the prefix that could still have become well-formed. Always at least 1.
size_t maximal_subpart(std::string_view text, size_t pos) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t length = 1;
  for (size_t i = 1; i <= need; ++i) {
    if (pos + i >= text.size()) break;
    const auto b = static_cast<uint8_t>(text[pos + i]);
    const uint8_t first_lo = (i == 1) ? lo : 0x80;
    const uint8_t first_hi = (i == 1) ? hi : 0xBF;
    if (b < first_lo || b > first_hi) break;
    ++length;
  }
  return length;
}

}  // namespace

size_t sequence_length(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const auto b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) return 1;
  const size_t length = maximal_subpart(text, pos);
  size_t need = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    need = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF)
    need = 3;
  else if (b0 >= 0xF0 && b0 <= 0xF4)
    need = 4;
  return length == need ? need : 0;
}

char32_t decode_at(std::string_view text, size_t pos, size_t length) {
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(text[pos + i])); };
  switch (length) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t length = sequence_length(bytes, pos);
    if (length > 0) {
      out.append(bytes.substr(pos, length));
      pos += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      pos += maximal_subpart(bytes, pos);
    }
  }
  return out;
}

bool is_valid(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t length = sequence_length(bytes, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

}  // namespace moescope::utf8
