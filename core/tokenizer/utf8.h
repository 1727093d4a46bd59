// UTF-8 helpers the tokenizers share: walking code points without trusting the input, and the
// lossy decoding Rust's String::from_utf8_lossy does (the HF decoders are specified by it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace moescope::utf8 {

// Length in bytes of the well-formed sequence starting at text[pos], or 0 when the bytes there are
// not well-formed UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated).
size_t sequence_length(std::string_view text, size_t pos);

// The code point of the well-formed sequence of `length` bytes at text[pos].
char32_t decode_at(std::string_view text, size_t pos, size_t length);

void append(std::string& out, char32_t code_point);

// Well-formed sequences copied; each maximal ill-formed subpart replaced by U+FFFD.
std::string lossy(std::string_view bytes);

bool is_valid(std::string_view bytes);

}  // namespace moescope::utf8
