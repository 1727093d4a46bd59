#include "core/fp8_block_quant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/safetensors.h"

namespace moescope {

uint8_t f32_to_e4m3(float value) {
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  if (std::isnan(value)) return static_cast<uint8_t>(sign | 0x7f);
  const float a = std::fabs(value);
  if (a == 0.0f) return sign;
  // Subnormals (exponent field 0) are multiples of 2^-9 below 2^-6; rounding 2^-6 - epsilon up to
  // 8 * 2^-9 lands on the bits of the smallest normal, 0x08, so the bits are the count itself.
  if (a < std::ldexp(1.0f, -6)) {
    return static_cast<uint8_t>(sign | static_cast<uint8_t>(std::nearbyint(std::ldexp(a, 9))));
  }
  if (!(a < kE4m3Max)) return static_cast<uint8_t>(sign | 0x7e);  // also +-inf: saturate
  int exponent = 0;
  const float fraction = std::frexp(a, &exponent);  // a = fraction * 2^exponent, fraction in [0.5, 1)
  int e = exponent - 1;                             // a = m * 2^e, m in [1, 2)
  // Three mantissa bits: (m - 1) * 8 is exact in float, nearbyint rounds half to even.
  int mantissa = static_cast<int>(std::nearbyint((fraction * 2.0f - 1.0f) * 8.0f));
  if (mantissa == 8) {
    mantissa = 0;
    ++e;
  }
  const int biased = e + 7;
  if (biased > 15 || (biased == 15 && mantissa == 7)) return static_cast<uint8_t>(sign | 0x7e);
  return static_cast<uint8_t>(sign | (biased << 3) | mantissa);
}

Fp8BlockWeight quantize_fp8_blocks(std::span<const float> weight, int64_t rows, int64_t cols,
                                   const std::string& name) {
  if (rows < 1 || cols < 1 || static_cast<int64_t>(weight.size()) != rows * cols) {
    fail_input(name + ": fp8 quantisation needs (rows, cols) values, got " + std::to_string(weight.size()) +
               " for shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
  Fp8BlockWeight out;
  out.rows = rows;
  out.cols = cols;
  out.values.resize(weight.size());
  const int64_t block_rows = (rows + kFp8Block - 1) / kFp8Block;
  const int64_t block_cols = (cols + kFp8Block - 1) / kFp8Block;
  out.scales.resize(static_cast<size_t>(block_rows * block_cols));
  for (int64_t br = 0; br < block_rows; ++br) {
    for (int64_t bc = 0; bc < block_cols; ++bc) {
      const int64_t r_end = std::min(rows, (br + 1) * kFp8Block),
                    c_end = std::min(cols, (bc + 1) * kFp8Block);
      float amax = 0.0f;
      for (int64_t r = br * kFp8Block; r < r_end; ++r) {
        for (int64_t c = bc * kFp8Block; c < c_end; ++c) {
          const float w = weight[static_cast<size_t>(r * cols + c)];
          if (!std::isfinite(w)) {
            fail_input(name + ": element (" + std::to_string(r) + ", " + std::to_string(c) + ") is " +
                       std::to_string(w) + ", which has no fp8 value");
          }
          amax = std::max(amax, std::fabs(w));
        }
      }
      const float scale = amax > 0.0f ? amax / kE4m3Max : 1.0f;
      out.scales[static_cast<size_t>(br * block_cols + bc)] = scale;
      for (int64_t r = br * kFp8Block; r < r_end; ++r) {
        for (int64_t c = bc * kFp8Block; c < c_end; ++c) {
          const auto i = static_cast<size_t>(r * cols + c);
          out.values[i] = f32_to_e4m3(weight[i] / scale);
        }
      }
    }
  }
  return out;
}

std::vector<float> dequantize_fp8_blocks(const Fp8BlockWeight& weight) {
  const int64_t block_cols = (weight.cols + kFp8Block - 1) / kFp8Block;
  std::vector<float> out(weight.values.size());
  for (int64_t r = 0; r < weight.rows; ++r) {
    for (int64_t c = 0; c < weight.cols; ++c) {
      const auto i = static_cast<size_t>(r * weight.cols + c);
      out[i] = f8_e4m3_to_f32(weight.values[i]) *
               weight.scales[static_cast<size_t>((r / kFp8Block) * block_cols + c / kFp8Block)];
    }
  }
  return out;
}

}  // namespace moescope
