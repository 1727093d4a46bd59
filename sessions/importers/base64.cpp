#include "sessions/importers/base64.h"

#include <array>

#include "core/error.h"

namespace moescope::sessions {
namespace {

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kTable = make_table();

}  // namespace

std::vector<uint8_t> decode_base64(std::string_view text, const std::string& what) {
  size_t end = text.size();
  size_t padding = 0;
  while (end > 0 && text[end - 1] == '=' && padding < 2) {
    --end;
    ++padding;
  }
  // Padded text comes in groups of four; unpadded text can end in two or three characters, never one.
  if ((padding > 0 && text.size() % 4 != 0) || end % 4 == 1) {
    fail_input(what + ": base64 text of " + std::to_string(text.size()) +
               " characters cannot encode whole bytes (truncated?)");
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(end / 4 * 3 + 2);
  uint32_t bits = 0;
  int n_bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const int8_t value = kTable[static_cast<unsigned char>(text[i])];
    if (value < 0) {
      fail_input(what + ": character " + std::to_string(i) + " of the base64 text is not base64" +
                 (text[i] == '=' ? " (padding before the end)" : ""));
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      bytes.push_back(static_cast<uint8_t>((bits >> n_bits) & 0xff));
    }
  }
  // The leftover bits of a short final group must be zero, as every encoder writes them.
  if (n_bits > 0 && (bits & ((1u << n_bits) - 1)) != 0)
    fail_input(what + ": the base64 text's last character has stray bits (damaged or truncated)");
  return bytes;
}

std::vector<int32_t> decode_base64_int32(std::string_view text, const std::string& what) {
  std::vector<uint8_t> bytes = decode_base64(text, what);
  if (bytes.size() % 4 != 0) {
    fail_input(what + ": " + std::to_string(bytes.size()) +
               " bytes after base64 decoding, not a whole number of int32 values (truncated?)");
  }
  std::vector<int32_t> values(bytes.size() / 4);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint32_t v = uint32_t{bytes[4 * i]} | uint32_t{bytes[4 * i + 1]} << 8 | uint32_t{bytes[4 * i + 2]} << 16 |
                       uint32_t{bytes[4 * i + 3]} << 24;
    values[i] = static_cast<int32_t>(v);
  }
  return values;
}

}  // namespace moescope::sessions
