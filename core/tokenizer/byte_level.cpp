#include "core/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "core/tokenizer/utf8.h"

namespace moescope::byte_level {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 bytes get U+0100 onwards in order.
struct Alphabet {
  std::array<char32_t, 256> char_of_byte{};
  std::array<std::string, 256> utf8_of_byte;
  Alphabet() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      char_of_byte[b] = printable ? static_cast<char32_t>(b) : next++;
      utf8::append(utf8_of_byte[b], char_of_byte[b]);
    }
  }
  // Inverse: code points 0..0x143 only.
  std::optional<uint8_t> byte_of(char32_t c) const {
    if (c < 256) {
      const bool printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
      if (printable) return static_cast<uint8_t>(c);
      return std::nullopt;
    }
    if (c >= 256 + 68) return std::nullopt;
    for (int b = 0; b < 256; ++b) {
      if (char_of_byte[b] == c) return static_cast<uint8_t>(b);
    }
    return std::nullopt;
  }
};

const Alphabet& alphabet() {
  static const Alphabet table;
  return table;
}

}  // namespace

std::string encode(std::string_view bytes) {
  const Alphabet& table = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += table.utf8_of_byte[static_cast<uint8_t>(b)];
  return out;
}

std::optional<std::string> decode(std::string_view piece) {
  const Alphabet& table = alphabet();
  std::string out;
  size_t pos = 0;
  while (pos < piece.size()) {
    const size_t length = utf8::sequence_length(piece, pos);
    if (length == 0) return std::nullopt;
    const auto byte = table.byte_of(utf8::decode_at(piece, pos, length));
    if (!byte) return std::nullopt;
    out += static_cast<char>(*byte);
    pos += length;
  }
  return out;
}

}  // namespace moescope::byte_level
