// SentencePiece-style byte pieces: "<0x0A>" stands for the single byte 0x0A.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace moescope {

inline std::optional<uint8_t> parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece.back() != '>') return std::nullopt;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(piece.data() + 3, piece.data() + 5, value, 16);
  if (error != std::errc() || end != piece.data() + 5) return std::nullopt;
  return static_cast<uint8_t>(value);
}

}  // namespace moescope
