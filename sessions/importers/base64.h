// Strict standard base64 (RFC 4648 alphabet, '=' padding optional), as Python's base64/pybase64
// b64encode writes it. Anything else (a stray character, a length that cannot come from whole
// bytes, padding in the middle) is an InputError naming `what`: a truncated capture must not
// import as a shorter one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moescope::sessions {

std::vector<uint8_t> decode_base64(std::string_view text, const std::string& what);

// Decodes little-endian int32 values (numpy's int32 `tobytes()` on every platform engines run on).
std::vector<int32_t> decode_base64_int32(std::string_view text, const std::string& what);

}  // namespace moescope::sessions
