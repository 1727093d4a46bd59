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
  // Whole groups of four characters at a time into a buffer sized once: a DeepSeek-V3 request's
  // 60 KB of routing decoded a bit and a push_back at a time cost as much as parsing its JSON.
  const size_t tail = end % 4;  // 0, 2 or 3 characters after the last whole group
  std::vector<uint8_t> bytes(end / 4 * 3 + (tail > 0 ? tail - 1 : 0));
  auto refuse = [&](size_t first) {
    for (size_t i = first; i < end; ++i) {
      if (kTable[static_cast<unsigned char>(text[i])] < 0)
        fail_input(what + ": character " + std::to_string(i) + " of the base64 text is not base64" +
                   (text[i] == '=' ? " (padding before the end)" : ""));
    }
  };
  size_t out = 0;
  size_t i = 0;
  for (; i + 4 <= end; i += 4) {
    const int8_t a = kTable[static_cast<unsigned char>(text[i])], b = kTable[static_cast<unsigned char>(text[i + 1])],
                 c = kTable[static_cast<unsigned char>(text[i + 2])], d = kTable[static_cast<unsigned char>(text[i + 3])];
    if ((a | b | c | d) < 0) refuse(i);
    const uint32_t n = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                       static_cast<uint32_t>(c) << 6 | static_cast<uint32_t>(d);
    bytes[out++] = static_cast<uint8_t>(n >> 16);
    bytes[out++] = static_cast<uint8_t>(n >> 8);
    bytes[out++] = static_cast<uint8_t>(n);
  }
  if (tail > 0) {
    refuse(i);
    uint32_t bits = 0;
    for (; i < end; ++i) bits = bits << 6 | static_cast<uint32_t>(kTable[static_cast<unsigned char>(text[i])]);
    const int n_bits = static_cast<int>(tail) * 6 % 8;  // 4 bits left over after two characters, 2 after three
    // The leftover bits of a short final group must be zero, as every encoder writes them.
    if ((bits & ((1u << n_bits) - 1)) != 0)
      fail_input(what + ": the base64 text's last character has stray bits (damaged or truncated)");
    bits >>= n_bits;
    for (size_t b = tail - 1; b-- > 0;) bytes[out++] = static_cast<uint8_t>(bits >> (8 * b));
  }
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
