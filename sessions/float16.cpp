#include "sessions/float16.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace moescope::sessions {

uint16_t float_to_half(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t exponent = (bits >> 23) & 0xffu;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0u));
  int32_t half_exponent = static_cast<int32_t>(exponent) - 127 + 15;
  if (half_exponent >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (half_exponent <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit into place.
    if (half_exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - half_exponent);
    uint32_t half_mantissa = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half_mantissa & 1u))) ++half_mantissa;
    return static_cast<uint16_t>(sign | half_mantissa);
  }
  uint32_t half = sign | (static_cast<uint32_t>(half_exponent) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  // A carry out of the mantissa correctly bumps the exponent (and reaches inf at the top).
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

float half_to_float(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise.
    int32_t e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

namespace {

void encode_float16_le_portable(const float* values, size_t n, std::byte* dst) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t half = float_to_half(values[i]);
    *dst++ = static_cast<std::byte>(half & 0xff);
    *dst++ = static_cast<std::byte>(half >> 8);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The writer encodes every score it stores (17 M for a 10k-token DeepSeek-V2-Lite run); the F16C
// instruction does eight at a time with the same round-to-nearest-even result for every non-NaN
// value (NaN payloads may differ; both stay NaN). x86 is little-endian, so the halves are stored
// as they are. Chosen at run time: Debian builds for the baseline x86-64 without F16C.
__attribute__((target("avx,f16c"))) void encode_float16_le_f16c(const float* values, size_t n, std::byte* dst) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i halves = _mm256_cvtps_ph(_mm256_loadu_ps(values + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i), halves);
  }
  encode_float16_le_portable(values + i, n - i, dst + 2 * i);
}

bool have_f16c() {
  // F16C from CPUID leaf 1 (ECX bit 29): clang 14, which builds the fuzz targets, knows no "f16c"
  // for __builtin_cpu_supports. "avx" there also checks that the OS saves the AVX registers.
  static const bool have = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0 && __builtin_cpu_supports("avx");
  }();
  return have;
}
#endif

}  // namespace

void encode_float16_le(std::span<const float> values, std::byte* out, Float16Path path) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (path != Float16Path::portable && have_f16c()) {
    encode_float16_le_f16c(values.data(), values.size(), out);
    return;
  }
#else
  (void)path;
#endif
  encode_float16_le_portable(values.data(), values.size(), out);
}

bool float16_hardware_available() {
#if defined(__x86_64__) && defined(__GNUC__)
  return have_f16c();
#else
  return false;
#endif
}

void decode_float16_le(std::span<const std::byte> bytes, std::span<float> out) {
  // Every half maps to one float: a 256 KiB table makes decoding a load per value, which matters
  // when the reader decodes tens of millions of scores.
  static const std::vector<float> table = [] {
    std::vector<float> values(65536);
    for (uint32_t h = 0; h < 65536; ++h) values[h] = half_to_float(static_cast<uint16_t>(h));
    return values;
  }();
  size_t n = std::min(bytes.size() / 2, out.size());
  const std::byte* in = bytes.data();
  for (size_t i = 0; i < n; ++i) {
    uint16_t half =
        static_cast<uint16_t>(static_cast<uint16_t>(in[2 * i]) | (static_cast<uint16_t>(in[2 * i + 1]) << 8));
    out[i] = table[half];
  }
}

}  // namespace moescope::sessions
