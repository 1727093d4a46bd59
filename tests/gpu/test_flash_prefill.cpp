// Focus: the fused prefill attention kernels against a double-precision reference on the same bf16
// inputs, each case run on both: --fused-attention's WMMA kernel (gpu/flash_prefill.cu) and
// --flash-prefill's FlashAttention-2 kernel (gpu/flash_prefill_mma.cu). GQA head sharing, prefill
// after cached positions (p0 > 0), query counts that are not a multiple of the 64-row tile, several
// key tiles (the double-buffered loads), MLA's shapes (192-wide keys, values inside wider kv rows),
// the golden models' small head dims (zero-padded), and the shapes each must refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/kernels.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope {
namespace {

using gpu::bf16;

struct AttentionShape {
  int T, p0, heads, kv_heads, dk, dv;
  int v_offset = 0;  // MLA: values sit after `v_offset` key columns in each head's kv row
};

struct HostAttention {
  AttentionShape s;
  int Lk;
  int64_t q_ld, k_ld, v_ld, v_head_stride;
  std::vector<bf16> q, k, v;  // v holds v_offset + dv columns per kv head
};

HostAttention random_attention(const AttentionShape& s, uint32_t seed) {
  HostAttention a{
      s, s.p0 + s.T, int64_t{s.heads} * s.dk, int64_t{s.kv_heads} * s.dk, 0, s.v_offset + s.dv, {}, {}, {}};
  a.v_ld = int64_t{s.kv_heads} * a.v_head_stride;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](std::vector<bf16>& x, size_t n) {
    x.resize(n);
    for (bf16& e : x) e = __float2bfloat16(normal(rng));
  };
  fill(a.q, static_cast<size_t>(s.T * a.q_ld));
  fill(a.k, static_cast<size_t>(a.Lk * a.k_ld));
  fill(a.v, static_cast<size_t>(a.Lk * a.v_ld));
  return a;
}

// (T, heads*dv) in double: query t at position p0 + t sees keys 0..p0+t.
std::vector<double> reference_attention(const HostAttention& a, double scale) {
  const AttentionShape& s = a.s;
  const int group = s.heads / s.kv_heads;
  std::vector<double> out(static_cast<size_t>(s.T) * s.heads * s.dv);
  std::vector<double> p(static_cast<size_t>(a.Lk));
  for (int t = 0; t < s.T; ++t) {
    for (int h = 0; h < s.heads; ++h) {
      const int g = h / group, seen = s.p0 + t + 1;
      double m = -INFINITY;
      for (int j = 0; j < seen; ++j) {
        double dot = 0;
        for (int i = 0; i < s.dk; ++i) {
          dot += double(__bfloat162float(a.q[t * a.q_ld + h * s.dk + i])) *
                 double(__bfloat162float(a.k[j * a.k_ld + g * s.dk + i]));
        }
        p[j] = dot * scale;
        m = std::max(m, p[j]);
      }
      double sum = 0;
      for (int j = 0; j < seen; ++j) sum += p[j] = std::exp(p[j] - m);
      for (int c = 0; c < s.dv; ++c) {
        double o = 0;
        for (int j = 0; j < seen; ++j)
          o += p[j] * double(__bfloat162float(a.v[j * a.v_ld + g * a.v_head_stride + s.v_offset + c]));
        out[(static_cast<size_t>(t) * s.heads + h) * s.dv + c] = o / sum;
      }
    }
  }
  return out;
}

gpu::DeviceBuffer upload(const std::vector<bf16>& x) {
  gpu::DeviceBuffer d(x.size() * sizeof(bf16));
  EXPECT_EQ(cudaMemcpy(d.data(), x.data(), d.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

using FlashLauncher = bool (*)(const gpu::FlashPrefill&, cudaStream_t);

// Runs the kernel; false when it refused the shape. `got` is (T, heads*dv).
bool run_flash(FlashLauncher launch, const HostAttention& a, float scale, std::vector<float>& got) {
  const AttentionShape& s = a.s;
  const auto dq = upload(a.q), dk = upload(a.k), dv = upload(a.v);
  // NaN everywhere first, so an output element the kernel skips cannot pass.
  std::vector<bf16> sentinel(static_cast<size_t>(s.T) * s.heads * s.dv, __float2bfloat16(NAN));
  auto dout = upload(sentinel);
  gpu::FlashPrefill f;
  f.q = dq.as<bf16>();
  f.q_ld = a.q_ld;
  f.k = dk.as<bf16>();
  f.k_ld = a.k_ld;
  f.k_head_stride = s.dk;
  f.v = dv.as<bf16>() + s.v_offset;
  f.v_ld = a.v_ld;
  f.v_head_stride = a.v_head_stride;
  f.out = dout.as<bf16>();
  f.out_ld = int64_t{s.heads} * s.dv;
  f.dk = s.dk;
  f.dv = s.dv;
  f.heads = s.heads;
  f.group = s.heads / s.kv_heads;
  f.T = s.T;
  f.Lk = a.Lk;
  f.p0 = s.p0;
  f.scale = scale;
  if (!launch(f, nullptr)) return false;
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<bf16> out(sentinel.size());
  EXPECT_EQ(cudaMemcpy(out.data(), dout.data(), dout.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  got.resize(out.size());
  for (size_t i = 0; i < out.size(); ++i) got[i] = __bfloat162float(out[i]);
  return true;
}

void expect_matches_reference(FlashLauncher launch, const AttentionShape& s, uint32_t seed) {
  SCOPED_TRACE("T " + std::to_string(s.T) + " p0 " + std::to_string(s.p0) + " heads " +
               std::to_string(s.heads) + "/" + std::to_string(s.kv_heads) + " dk " + std::to_string(s.dk) +
               " dv " + std::to_string(s.dv));
  const HostAttention a = random_attention(s, seed);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.dk));
  std::vector<float> got;
  ASSERT_TRUE(run_flash(launch, a, scale, got)) << "the kernel refused a shape it should take";
  const auto want = reference_attention(a, scale);
  double err2 = 0, ref2 = 0, worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << "output element " << i << " not written or not finite";
    err2 += (got[i] - want[i]) * (got[i] - want[i]);
    ref2 += want[i] * want[i];
    worst = std::max(worst, std::abs(got[i] - want[i]));
  }
  // bf16 probabilities and a bf16 output: about 3 significant digits.
  EXPECT_LE(std::sqrt(err2 / ref2), 1e-2);
  EXPECT_LE(worst, 3e-2);
}

struct FlashKernel {
  const char* name;
  FlashLauncher launch;
};

class FlashPrefill : public ::testing::TestWithParam<FlashKernel> {
 protected:
  void SetUp() override { MOESCOPE_REQUIRE_GPU(); }
  void expect_matches(const AttentionShape& s, uint32_t seed) {
    expect_matches_reference(GetParam().launch, s, seed);
  }
};

// 1. Mixtral/Qwen3 heads (128) with GQA, one full and one partial 64-row tile.
TEST_P(FlashPrefill, GqaHeadsMatchReference) {
  expect_matches({.T = 100, .p0 = 0, .heads = 8, .kv_heads = 2, .dk = 128, .dv = 128}, 1);
}

// 2. A prefill step after cached positions: keys 0..p0+t, key count not a multiple of 64.
TEST_P(FlashPrefill, StepAfterCachedPositionsMatchesReference) {
  expect_matches({.T = 70, .p0 = 45, .heads = 4, .kv_heads = 4, .dk = 128, .dv = 128}, 2);
  expect_matches({.T = 5, .p0 = 130, .heads = 2, .kv_heads = 1, .dk = 64, .dv = 64}, 3);
}

// 3. DeepSeek MLA prefill: 192-wide keys, 128-wide values read from inside [k_nope | v] kv rows.
TEST_P(FlashPrefill, MlaShapesMatchReference) {
  expect_matches({.T = 130, .p0 = 0, .heads = 4, .kv_heads = 4, .dk = 192, .dv = 128, .v_offset = 128}, 4);
}

// 4. The golden models' head dims, zero-padded: GQA 16 and MLA 24 + 16.
TEST_P(FlashPrefill, SmallHeadDimsMatchReference) {
  expect_matches({.T = 52, .p0 = 0, .heads = 4, .kv_heads = 2, .dk = 16, .dv = 16}, 5);
  expect_matches({.T = 32, .p0 = 20, .heads = 4, .kv_heads = 4, .dk = 24, .dv = 16, .v_offset = 16}, 6);
}

// 5. Shapes without an instantiation or not 16-byte aligned are refused, leaving the output alone.
TEST_P(FlashPrefill, RefusesShapesItDoesNotTake) {
  const FlashLauncher launch = GetParam().launch;
  std::vector<float> got;
  EXPECT_FALSE(
      run_flash(launch, random_attention({.T = 8, .p0 = 0, .heads = 2, .kv_heads = 2, .dk = 96, .dv = 96}, 7),
                1.0f, got));
  EXPECT_FALSE(
      run_flash(launch, random_attention({.T = 8, .p0 = 0, .heads = 2, .kv_heads = 2, .dk = 12, .dv = 12}, 8),
                1.0f, got));
  EXPECT_FALSE(run_flash(
      launch, random_attention({.T = 8, .p0 = 0, .heads = 2, .kv_heads = 2, .dk = 256, .dv = 256}, 9), 1.0f,
      got));
}

// 6. Five key tiles with Mixtral's group of 4: the next tile's keys load while this one is used,
// and a block's first rows skip the tiles only its last rows see.
TEST_P(FlashPrefill, ManyKeyTilesWithGqaMatchReference) {
  expect_matches({.T = 300, .p0 = 0, .heads = 8, .kv_heads = 2, .dk = 128, .dv = 128}, 10);
  expect_matches({.T = 64, .p0 = 200, .heads = 2, .kv_heads = 2, .dk = 192, .dv = 128, .v_offset = 128}, 11);
}

INSTANTIATE_TEST_SUITE_P(Kernels, FlashPrefill,
                         ::testing::Values(FlashKernel{"wmma", gpu::launch_flash_prefill},
                                           FlashKernel{"mma", gpu::launch_flash_prefill_mma}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace moescope
