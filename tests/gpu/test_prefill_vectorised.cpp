// Focus: --fast-prefill-kernels (gpu/prefill_vectorised.cu): the vectorised SwiGLU and expert
// combine give the plain kernels' results bit for bit (same operations, same order), at widths of
// the real models and with dropped assignments (slot -1), and refuse widths that are not a multiple
// of 8.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/kernels.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope {
namespace {

template <class T>
gpu::DeviceBuffer pv_to_device(const std::vector<T>& v) {
  gpu::DeviceBuffer d(v.size() * sizeof(T));
  EXPECT_EQ(cudaMemcpy(d.data(), v.data(), d.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

template <class T>
std::vector<T> pv_from_device(const gpu::DeviceBuffer& d) {
  std::vector<T> v(d.bytes() / sizeof(T));
  EXPECT_EQ(cudaMemcpy(v.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  return v;
}

std::vector<gpu::bf16> pv_random_bf16(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<gpu::bf16> v(n);
  for (auto& x : v) x = __float2bfloat16(normal(rng));
  return v;
}

bool pv_same_bits(const void* a, const void* b, size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

// 1. SwiGLU at Mixtral's expert width (rows of 2 x 14336) and V2-Lite's (2 x 1408): bit for bit.
TEST(PrefillVectorised, SwigluEqualsThePlainKernel) {
  MOESCOPE_REQUIRE_GPU();
  for (const auto& [N, I] : {std::pair<int, int>{37, 14336}, {300, 1408}}) {
    const auto gu = pv_to_device(pv_random_bf16(static_cast<size_t>(N) * 2 * I, static_cast<uint32_t>(I)));
    gpu::DeviceBuffer plain(static_cast<size_t>(N) * I * sizeof(gpu::bf16)), fast(plain.bytes());
    gpu::launch_swiglu(gu.as<gpu::bf16>(), N, I, plain.as<gpu::bf16>(), nullptr);
    ASSERT_TRUE(gpu::launch_swiglu_vectorised(gu.as<gpu::bf16>(), N, I, fast.as<gpu::bf16>(), nullptr));
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto a = pv_from_device<gpu::bf16>(plain), b = pv_from_device<gpu::bf16>(fast);
    EXPECT_TRUE(pv_same_bits(a.data(), b.data(), a.size() * sizeof(gpu::bf16))) << "N " << N << " I " << I;
  }
}

// 2. The combine with k = 6, one dropped assignment in three, into a residual that already holds
//    values: bit for bit, at a width (2048) and one that takes two passes of the block (4096 + 8).
TEST(PrefillVectorised, CombineEqualsThePlainKernel) {
  MOESCOPE_REQUIRE_GPU();
  const int T = 41, k = 6;
  for (const int hidden : {2048, 4104}) {
    const auto y = pv_to_device(pv_random_bf16(static_cast<size_t>(T) * k * hidden, 3));
    std::vector<int32_t> slot(static_cast<size_t>(T) * k);
    std::vector<float> weights(slot.size());
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (size_t a = 0; a < slot.size(); ++a) {
      slot[a] = a % 3 == 2 ? -1 : static_cast<int32_t>((a * 7) % slot.size());
      weights[a] = unit(rng);
    }
    std::vector<float> h(static_cast<size_t>(T) * hidden);
    for (float& x : h) x = unit(rng) - 0.5f;
    const auto d_slot = pv_to_device(slot), d_weights = pv_to_device(weights);
    const auto plain = pv_to_device(h), fast = pv_to_device(h);
    gpu::launch_combine(y.as<gpu::bf16>(), d_slot.as<int32_t>(), d_weights.as<float>(), T, k, hidden,
                        plain.as<float>(), nullptr);
    ASSERT_TRUE(gpu::launch_combine_vectorised(y.as<gpu::bf16>(), d_slot.as<int32_t>(), d_weights.as<float>(),
                                               T, k, hidden, fast.as<float>(), nullptr));
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto a = pv_from_device<float>(plain), b = pv_from_device<float>(fast);
    EXPECT_TRUE(pv_same_bits(a.data(), b.data(), a.size() * sizeof(float))) << "hidden " << hidden;
    EXPECT_FALSE(pv_same_bits(a.data(), h.data(), a.size() * sizeof(float))) << "the combine added nothing";
  }
}

// 3. Widths that are not a multiple of 8 are refused.
TEST(PrefillVectorised, RefusesWidthsNotAMultipleOf8) {
  MOESCOPE_REQUIRE_GPU();
  gpu::DeviceBuffer buf(4096);
  EXPECT_FALSE(gpu::launch_swiglu_vectorised(buf.as<gpu::bf16>(), 4, 12, buf.as<gpu::bf16>(), nullptr));
  EXPECT_FALSE(gpu::launch_combine_vectorised(buf.as<gpu::bf16>(), buf.as<int32_t>(), buf.as<float>(), 1, 1,
                                              20, buf.as<float>(), nullptr));
}

}  // namespace
}  // namespace moescope
