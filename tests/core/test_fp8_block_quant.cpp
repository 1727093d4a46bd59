// Focus: fp8 e4m3 encoding and DeepSeek-V3's 128x128 block quantisation (core/fp8_block_quant.h).
// Every finite e4m3 value encodes back to its own bits; other floats go to the nearest value, ties
// to the even mantissa, checked against a brute-force search over all 256 encodings; beyond the
// range they saturate at +-448 and NaN stays NaN (OCP 8-bit floating point spec, saturating mode);
// block quantisation keeps the scale layout, bounds the error by half an e4m3 step and reproduces
// weights that are fp8 values times the block scale exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/fp8_block_quant.h"
#include "core/safetensors.h"

namespace moescope {
namespace {

// The nearest finite e4m3 encoding by trying them all; ties to the even bit pattern (the even
// mantissa, since the mantissa is the low bits).
uint8_t nearest_by_search(float x) {
  uint8_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (int bits = 0; bits < 256; ++bits) {
    const float v = f8_e4m3_to_f32(static_cast<uint8_t>(bits));
    if (std::isnan(v) || std::signbit(v) != std::signbit(x)) continue;
    const double d = std::fabs(static_cast<double>(v) - static_cast<double>(x));
    if (d < best_distance || (d == best_distance && (bits & 1) == 0)) {
      best_distance = d;
      best = static_cast<uint8_t>(bits);
    }
  }
  return best;
}

// 1. All 254 finite encodings (and -0) come back as the same bits.
TEST(Fp8E4m3, EveryFiniteValueEncodesToItsOwnBits) {
  for (int bits = 0; bits < 256; ++bits) {
    if ((bits & 0x7f) == 0x7f) continue;  // the two NaNs
    const float v = f8_e4m3_to_f32(static_cast<uint8_t>(bits));
    EXPECT_EQ(f32_to_e4m3(v), bits) << "bits 0x" << std::hex << bits << " value " << v;
  }
}

// 2. Known values from the format: bias 7, three mantissa bits, subnormals below 2^-6.
TEST(Fp8E4m3, ExactValues) {
  EXPECT_EQ(f32_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(f32_to_e4m3(-2.0f), 0xc0);
  EXPECT_EQ(f32_to_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(416.0f), 0x7d);                // 1.625 * 2^8
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -6)), 0x08);  // smallest normal
  EXPECT_EQ(f32_to_e4m3(std::ldexp(7.0f, -9)), 0x07);  // largest subnormal
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -9)), 0x01);  // smallest subnormal
  EXPECT_EQ(f32_to_e4m3(0.0f), 0x00);
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
}

// 3. Ties go to the even mantissa, in the normal and the subnormal range.
TEST(Fp8E4m3, TiesRoundToEven) {
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);  // between 1 (m=0) and 1.125 (m=1)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);  // between 1.125 (m=1) and 1.25 (m=2)
  EXPECT_EQ(f32_to_e4m3(std::nextafter(1.0625f, 2.0f)), 0x39);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(0.5f, -9)), 0x00);  // half the smallest subnormal
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.5f, -9)), 0x02);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(7.5f, -9)), 0x08);  // rounds up into the normal range
  EXPECT_EQ(f32_to_e4m3(1.9375f), 0x40);  // between 1.875 (m=7) and 2: the even one is 2, the next exponent
}

// 4. Saturation and NaN (OCP spec, saturating conversion).
TEST(Fp8E4m3, SaturatesAndKeepsNaN) {
  EXPECT_EQ(f32_to_e4m3(449.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(1e6f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-1e6f), 0xfe);
  EXPECT_EQ(f32_to_e4m3(std::numeric_limits<float>::infinity()), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(f32_to_e4m3(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_EQ(f32_to_e4m3(-std::numeric_limits<float>::quiet_NaN()), 0xff);
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(f32_to_e4m3(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -12)), 0x00);  // underflows to zero
}

// 5. Random floats over the whole range (and beyond it up to the saturation point) encode to the
// nearest value the brute-force search finds.
TEST(Fp8E4m3, MatchesNearestValueSearch) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> exponent(-12.0f, 8.8f);
  std::uniform_int_distribution<int> sign(0, 1);
  for (int i = 0; i < 20000; ++i) {
    const float x = (sign(rng) ? -1.0f : 1.0f) * std::exp2(exponent(rng));
    const uint8_t expected =
        std::fabs(x) >= kE4m3Max ? static_cast<uint8_t>((x < 0 ? 0x80 : 0) | 0x7e) : nearest_by_search(x);
    ASSERT_EQ(f32_to_e4m3(x), expected) << "x = " << x;
  }
}

// 6. Block layout (300 x 200 -> 3 x 2 scales, partial edge blocks), scale = amax / 448, and the
// error of each element within half a step: |w| * 2^-4 for normals, 2^-10 * scale below them.
TEST(Fp8BlockQuant, LayoutScalesAndErrorBound) {
  constexpr int64_t kRows = 300, kCols = 200;
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(kRows * kCols);
  for (float& x : w) x = normal(rng);
  w[5 * kCols + 150] = 0.5f;  // one outlier sets the (0, 1) block's scale
  Fp8BlockWeight q = quantize_fp8_blocks(w, kRows, kCols, "layers.0.mlp.experts.0.w1.weight");
  ASSERT_EQ(q.scales.size(), 6u);
  ASSERT_EQ(q.values.size(), w.size());
  EXPECT_FLOAT_EQ(q.scales[1], 0.5f / 448.0f);
  for (int64_t br = 0; br < 3; ++br) {
    for (int64_t bc = 0; bc < 2; ++bc) {
      float amax = 0;
      for (int64_t r = br * 128; r < std::min<int64_t>(kRows, (br + 1) * 128); ++r)
        for (int64_t c = bc * 128; c < std::min<int64_t>(kCols, (bc + 1) * 128); ++c)
          amax = std::max(amax, std::fabs(w[r * kCols + c]));
      EXPECT_FLOAT_EQ(q.scales[br * 2 + bc], amax / 448.0f) << "block " << br << "," << bc;
    }
  }
  const std::vector<float> back = dequantize_fp8_blocks(q);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t c = 0; c < kCols; ++c) {
      const float scale = q.scales[(r / 128) * 2 + c / 128];
      const float x = w[r * kCols + c];
      const float bound = std::max(std::fabs(x) * 0.0625f, std::ldexp(scale, -10)) * (1.0f + 1e-5f);
      ASSERT_LE(std::fabs(back[r * kCols + c] - x), bound) << "(" << r << ", " << c << ")";
    }
  }
  // The element that sets a block's scale comes back as itself.
  EXPECT_FLOAT_EQ(back[5 * kCols + 150], 0.5f);
}

// 7. Weights that are e4m3 values times a power of two, with 448 in every block, come back exactly.
TEST(Fp8BlockQuant, RepresentableWeightsAreExact) {
  constexpr int64_t kRows = 130, kCols = 129;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> bits(0, 0x7e);
  std::vector<float> w(kRows * kCols);
  for (float& x : w)
    x = std::ldexp(f8_e4m3_to_f32(static_cast<uint8_t>(bits(rng))), -7) * (rng() & 1 ? -1.0f : 1.0f);
  for (int64_t r : {0, 128})
    for (int64_t c : {0, 128}) w[r * kCols + c] = std::ldexp(448.0f, -7);
  Fp8BlockWeight q = quantize_fp8_blocks(w, kRows, kCols, "w");
  for (float scale : q.scales) EXPECT_EQ(scale, std::ldexp(1.0f, -7));
  EXPECT_EQ(dequantize_fp8_blocks(q), w);
}

// 8. An all-zero block gets scale 1 and zeros; a NaN or infinite weight is refused naming the
// tensor and the element; a size that disagrees with the shape is refused.
TEST(Fp8BlockQuant, ZeroBlocksAndBadInput) {
  std::vector<float> zeros(4 * 4, 0.0f);
  Fp8BlockWeight q = quantize_fp8_blocks(zeros, 4, 4, "z");
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(dequantize_fp8_blocks(q), zeros);

  std::vector<float> w(4 * 4, 1.0f);
  w[6] = std::numeric_limits<float>::infinity();
  try {
    quantize_fp8_blocks(w, 4, 4, "model.layers.1.mlp.gate_proj.weight");
    FAIL() << "an infinite weight was quantised";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.gate_proj.weight: element (1, 2)"),
              std::string::npos)
        << e.what();
  }
  w[6] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(quantize_fp8_blocks(w, 4, 4, "w"), InputError);
  EXPECT_THROW(quantize_fp8_blocks(zeros, 4, 5, "w"), InputError);
}

}  // namespace
}  // namespace moescope
