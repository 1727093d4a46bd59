// Focus: the score BLOB encoding. Every half survives a round trip through float; the F16C path the
// writer takes on x86 gives the portable conversion's bits for every non-NaN value, tested at each
// rounding boundary (the midpoints between neighbouring halves, where round-to-nearest-even decides)
// and on a million random floats.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

#include "sessions/float16.h"

namespace moescope {
namespace {

std::vector<uint16_t> encode(const std::vector<float>& values, sessions::Float16Path path) {
  std::vector<std::byte> bytes(values.size() * 2);
  sessions::encode_float16_le(values, bytes.data(), path);
  std::vector<uint16_t> halves(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    halves[i] = static_cast<uint16_t>(std::to_integer<uint16_t>(bytes[2 * i]) | (std::to_integer<uint16_t>(bytes[2 * i + 1]) << 8));
  return halves;
}

TEST(Float16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float value = sessions::half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(value)) continue;
    ASSERT_EQ(sessions::float_to_half(value), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(sessions::float_to_half(1e6f), 0x7c00);  // overflow -> +inf
  EXPECT_TRUE(std::isnan(sessions::half_to_float(sessions::float_to_half(NAN))));
}

TEST(Float16, HardwarePathGivesThePortableBitsForEveryNonNanValue) {
  if (!sessions::float16_hardware_available()) GTEST_SKIP() << "this CPU has no F16C";
  std::vector<float> values;
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    for (float sign : {1.0f, -1.0f}) {
      float low = sign * sessions::half_to_float(static_cast<uint16_t>(h));
      float high = sign * sessions::half_to_float(static_cast<uint16_t>(h + 1));  // 0x7c00 is inf
      float mid = h + 1 == 0x7c00 ? sign * 65520.0f : low + (high - low) / 2;  // the tie to round
      values.insert(values.end(), {low, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 2 * mid)});
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 1'000'000; ++i) {
    float value = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (!std::isnan(value)) values.push_back(value);
  }
  values.insert(values.end(), {INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f, -1e-30f, 7e-8f, 3e-8f});
  const auto portable = encode(values, sessions::Float16Path::portable);
  const auto fastest = encode(values, sessions::Float16Path::fastest);
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(fastest[i], portable[i]) << "value " << values[i] << " (bits 0x" << std::hex
                                       << std::bit_cast<uint32_t>(values[i]) << ")";
  }
}

}  // namespace
}  // namespace moescope
