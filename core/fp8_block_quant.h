// fp8 e4m3 as DeepSeek-V3 ships its weights: each 2-D weight as e4m3 values plus one f32 scale per
// 128x128 block (`<name>_scale_inv`, shape (ceil(rows/128), ceil(cols/128))), w = fp8 * scale.
// Quantising a bf16/f32 weight the same way (the V3 recipe: scale = block amax / 448) lets the CPU
// engine be the fp32 reference of exactly the fp8 values a GPU engine would hold. Decoding is
// f8_e4m3_to_f32 (core/safetensors.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace moescope {

inline constexpr float kE4m3Max = 448.0f;  // largest finite e4m3 (0x7e): 1.75 * 2^8
inline constexpr int64_t kFp8Block = 128;

// Round to nearest, ties to even, saturating (OCP 8-bit floating point spec, E4M3 with the
// saturating conversion, as CUDA's __NV_SATFINITE): |x| beyond 448 and infinities become +-448,
// NaN becomes the NaN encoding 0x7f (0xff when negative), -0 stays 0x80.
uint8_t f32_to_e4m3(float value);

struct Fp8BlockWeight {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> values;  // (rows, cols) e4m3 bits
  std::vector<float> scales;    // (ceil(rows/128), ceil(cols/128)) w = f8_e4m3_to_f32(value) * scale
};

// Per 128x128 block: scale = amax / 448 (1 for an all-zero block), value = e4m3(w / scale). An
// InputError naming `name` and the element for a NaN or infinite weight: it has no fp8 value.
Fp8BlockWeight quantize_fp8_blocks(std::span<const float> weight, int64_t rows, int64_t cols,
                                   const std::string& name);

// (rows, cols) floats, w = value * scale of its block.
std::vector<float> dequantize_fp8_blocks(const Fp8BlockWeight& weight);

}  // namespace moescope
