// IEEE-754 binary16 conversion for the score BLOBs: a 64-expert score vector is 128 bytes instead
// of 256, and scores in [0, 1] keep about 3.3 significant decimal digits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace moescope::sessions {

uint16_t float_to_half(float value);  // round to nearest even; overflow -> inf; NaN stays NaN
float half_to_float(uint16_t half);

// `values` as little-endian binary16 into out[0, 2 * values.size()). `fastest` uses the CPU's F16C
// conversion where there is one (equal results for every non-NaN value), `portable` never does.
enum class Float16Path { fastest, portable };
void encode_float16_le(std::span<const float> values, std::byte* out, Float16Path path);
bool float16_hardware_available();
// Decodes little-endian binary16 into `out` (bytes.size() / 2 values).
void decode_float16_le(std::span<const std::byte> bytes, std::span<float> out);

}  // namespace moescope::sessions
