// GPT-2's byte-level alphabet: every byte gets a printable code point, so a byte string can be a
// vocabulary piece ("Ġ" is the space byte 0x20).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace moescope::byte_level {

// Each byte of `bytes` as its byte-level character, UTF-8 encoded.
std::string encode(std::string_view bytes);

// The bytes behind a byte-level piece; nullopt when a character of it is outside the alphabet.
std::optional<std::string> decode(std::string_view piece);

}  // namespace moescope::byte_level
