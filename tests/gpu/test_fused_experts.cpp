// Focus: --fused-experts (gpu/fused_experts.cu), a MoE layer's decode FFN in one gate/up and one
// down+combine kernel, against a double-precision reference on the same bf16 inputs and against the
// separate kernels it replaces: DeepSeek-V2-Lite's real widths with shared experts, Mixtral's shape
// without, several tokens, a dropped assignment, and the shapes it refuses. The residual stream
// starts non-zero, so a kernel that stores instead of adding cannot pass.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/kernels.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope {
namespace fused_experts_test {

using gpu::bf16;

struct Shape {
  int hidden, I, k, E, n_shared, T;
};

std::vector<float> to_host_bf16(const gpu::DeviceBuffer& d) {
  std::vector<bf16> raw(d.bytes() / sizeof(bf16));
  EXPECT_EQ(cudaMemcpy(raw.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = __bfloat162float(raw[i]);
  return out;
}

std::vector<float> to_host_f32(const gpu::DeviceBuffer& d) {
  std::vector<float> out(d.bytes() / sizeof(float));
  EXPECT_EQ(cudaMemcpy(out.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

template <class T>
gpu::DeviceBuffer to_device(const std::vector<T>& x) {
  gpu::DeviceBuffer d(x.size() * sizeof(T));
  EXPECT_EQ(cudaMemcpy(d.data(), x.data(), d.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

gpu::DeviceBuffer random_bf16_device(int64_t n, float scale, uint64_t seed) {
  gpu::DeviceBuffer d(static_cast<size_t>(n) * sizeof(bf16));
  gpu::launch_fill_uniform_bf16(d.as<bf16>(), n, scale, seed, nullptr);
  return d;
}

double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ADD_FAILURE() << "element " << i << " not finite";
      return INFINITY;
    }
    err2 += (got[i] - want[i]) * (got[i] - want[i]);
    ref2 += want[i] * want[i];
  }
  return std::sqrt(err2 / ref2);
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double round_bf16(double x) { return __bfloat162float(__float2bfloat16(static_cast<float>(x))); }

// dot of row `row` of W (rows of `cols`) with x.
double dot(const std::vector<float>& W, int64_t row, int cols, const float* x) {
  double s = 0;
  for (int c = 0; c < cols; ++c) s += static_cast<double>(W[static_cast<size_t>(row * cols + c)]) * x[c];
  return s;
}

// Runs the fused kernels on random weights of `shape` (assignment `dropped_at` dropped when >= 0)
// and checks h against the double reference and against the separate kernels.
void check_shape(const Shape& s, int dropped_at) {
  SCOPED_TRACE("hidden " + std::to_string(s.hidden) + " I " + std::to_string(s.I) + " k " +
               std::to_string(s.k) + " shared " + std::to_string(s.n_shared) + " T " + std::to_string(s.T));
  const int Is = s.n_shared * s.I, A = s.T * s.k;
  const int64_t gu_stride = 2LL * s.I * s.hidden, down_stride = static_cast<int64_t>(s.hidden) * s.I;
  const auto gate_up = random_bf16_device(s.E * gu_stride, 0.05f, 1);
  const auto down = random_bf16_device(s.E * down_stride, 0.05f, 2);
  const auto shared_gu = random_bf16_device(std::max(2LL * Is * s.hidden, 1LL), 0.05f, 3);
  const auto shared_down =
      random_bf16_device(std::max(static_cast<int64_t>(s.hidden) * Is, int64_t{1}), 0.05f, 4);
  const auto x = random_bf16_device(static_cast<int64_t>(s.T) * s.hidden, 1.0f, 5);
  std::vector<int32_t> ids(static_cast<size_t>(A));
  std::vector<float> weights(static_cast<size_t>(A));
  std::vector<uint8_t> dropped(static_cast<size_t>(A), 0);
  for (int a = 0; a < A; ++a) {
    ids[static_cast<size_t>(a)] = (a * 5 + a / s.k) % s.E;  // distinct within a token for k <= E
    weights[static_cast<size_t>(a)] = 0.1f + 0.07f * static_cast<float>(a % 7);
  }
  if (dropped_at >= 0) dropped[static_cast<size_t>(dropped_at)] = 1;
  std::vector<float> h0(static_cast<size_t>(s.T) * s.hidden);
  for (size_t i = 0; i < h0.size(); ++i) h0[i] = 0.25f * static_cast<float>(i % 13) - 1.5f;
  const auto d_ids = to_device(ids), d_weights = to_device(weights), d_dropped = to_device(dropped);
  auto h_fused = to_device(h0), h_separate = to_device(h0);
  gpu::DeviceBuffer act(static_cast<size_t>(A * s.I + s.T * Is) * sizeof(bf16));

  gpu::FusedExperts f;
  f.gate_up = gate_up.as<bf16>();
  f.gate_up_stride = gu_stride;
  f.down = down.as<bf16>();
  f.down_stride = down_stride;
  f.ids = d_ids.as<int32_t>();
  f.weights = d_weights.as<float>();
  f.dropped = dropped_at >= 0 ? d_dropped.as<uint8_t>() : nullptr;
  f.shared_gate_up = Is > 0 ? shared_gu.as<bf16>() : nullptr;
  f.shared_down = Is > 0 ? shared_down.as<bf16>() : nullptr;
  f.x = x.as<bf16>();
  f.ldx = s.hidden;
  f.act = act.as<bf16>();
  f.h = h_fused.as<float>();
  f.T = s.T;
  f.k = s.k;
  f.I = s.I;
  f.Is = Is;
  f.hidden = s.hidden;
  ASSERT_TRUE(gpu::launch_fused_experts(f, nullptr)) << "refused a shape it should take";
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto got = to_host_f32(h_fused);

  // The separate kernels of the default path on the same inputs.
  gpu::launch_swiglu_gemv(f.gate_up, gu_stride, f.ids, s.T, s.k, f.x, s.hidden, s.I, s.hidden, act.as<bf16>(),
                          nullptr);
  gpu::launch_down_combine_gemv(f.down, down_stride, f.ids, f.weights, f.dropped, s.T, s.k, act.as<bf16>(),
                                s.I, s.hidden, h_separate.as<float>(), nullptr);
  if (Is > 0) {
    gpu::launch_swiglu_gemv(f.shared_gate_up, 0, nullptr, s.T, 1, f.x, s.hidden, Is, s.hidden, act.as<bf16>(),
                            nullptr);
    gpu::launch_gemv(f.shared_down, s.hidden, Is, act.as<bf16>(), Is, s.T, h_separate.as<float>(), s.hidden,
                     gpu::GemvOut::add_f32, nullptr);
  }
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto separate = to_host_f32(h_separate);

  // Double reference from the same bf16 values; act rounded to bf16 as both paths store it.
  const auto Wgu = to_host_bf16(gate_up), Wd = to_host_bf16(down), Sgu = to_host_bf16(shared_gu),
             Sd = to_host_bf16(shared_down), X = to_host_bf16(x);
  std::vector<double> want(h0.begin(), h0.end());
  for (int t = 0; t < s.T; ++t) {
    const float* xt = X.data() + static_cast<size_t>(t) * s.hidden;
    auto ffn = [&](const std::vector<float>& Wg, int64_t g_row0, const std::vector<float>& Wdn, int64_t d_off,
                   int width, double scale) {
      std::vector<float> a(static_cast<size_t>(width));
      for (int j = 0; j < width; ++j) {
        const double g = dot(Wg, g_row0 + j, s.hidden, xt), u = dot(Wg, g_row0 + width + j, s.hidden, xt);
        a[static_cast<size_t>(j)] = static_cast<float>(round_bf16(silu(g) * u));
      }
      for (int r = 0; r < s.hidden; ++r) {
        double o = 0;
        for (int j = 0; j < width; ++j)
          o += static_cast<double>(Wdn[static_cast<size_t>(d_off + static_cast<int64_t>(r) * width + j)]) *
               a[j];
        want[static_cast<size_t>(t) * s.hidden + r] += scale * o;
      }
    };
    for (int j = 0; j < s.k; ++j) {
      const int a = t * s.k + j;
      if (dropped[static_cast<size_t>(a)]) continue;
      const int64_t e = ids[static_cast<size_t>(a)];
      ffn(Wgu, e * 2 * s.I, Wd, e * down_stride, s.I, weights[static_cast<size_t>(a)]);
    }
    if (Is > 0) ffn(Sgu, 0, Sd, 0, Is, 1.0);
  }
  std::vector<double> delta_want(want.size());
  std::vector<float> delta_got(got.size()), delta_separate(got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    delta_want[i] = want[i] - h0[i];
    delta_got[i] = got[i] - h0[i];
    delta_separate[i] = separate[i] - h0[i];
  }
  EXPECT_LE(rel_l2(delta_got, delta_want), 5e-3) << "fused vs double reference";
  const std::vector<double> separate_d(delta_separate.begin(), delta_separate.end());
  EXPECT_LE(rel_l2(delta_got, separate_d), 1e-4) << "fused vs the separate kernels";
}

// 1. DeepSeek-V2-Lite's widths (hidden 2048, experts 1408 wide, top-6, two shared experts), one token
// and two, on 8 experts' weights.
TEST(FusedExperts, DeepSeekV2LiteWidthsMatchReferenceAndSeparateKernels) {
  MOESCOPE_REQUIRE_GPU();
  check_shape({2048, 1408, 6, 8, 2, 1}, -1);
  check_shape({2048, 1408, 6, 8, 2, 2}, -1);
}

// 2. Mixtral's pattern (top-2, no shared experts) at small widths and 3 tokens; then 4 tokens, one
// shared expert and one assignment dropped (capacity enforced).
TEST(FusedExperts, NoSharedExpertsAndADroppedAssignment) {
  MOESCOPE_REQUIRE_GPU();
  check_shape({264, 344, 2, 8, 0, 3}, -1);
  check_shape({136, 96, 4, 6, 1, 4}, 5);
}

// 3. Shapes it does not take are refused before anything is launched.
TEST(FusedExperts, RefusesWidthsItDoesNotTake) {
  MOESCOPE_REQUIRE_GPU();
  gpu::DeviceBuffer w(1 << 16);
  gpu::FusedExperts f;
  f.gate_up = f.down = f.x = w.as<bf16>();
  f.act = w.as<bf16>();
  f.T = 1;
  f.k = 2;
  f.I = 64;
  f.hidden = 64;
  f.ldx = 64;
  EXPECT_TRUE(gpu::fused_experts_fit(f));
  f.I = 60;  // not a multiple of 8
  EXPECT_FALSE(gpu::fused_experts_fit(f));
  EXPECT_FALSE(gpu::launch_fused_experts(f, nullptr));
  f.I = 64;
  f.k = 17;  // more routed rows than the kernel's segment table
  EXPECT_FALSE(gpu::fused_experts_fit(f));
  f.k = 2;
  f.T = gpu::kMaxDecodeTokens + 1;
  EXPECT_FALSE(gpu::fused_experts_fit(f));
}

}  // namespace fused_experts_test
}  // namespace moescope
