// Focus: the --fast-kernels decode kernels against double-precision references on the same inputs,
// at the real models' shapes and the golden models' small ones: the vectorised RMSNorm (wide rows,
// several rows, an output row offset, the bf16 remainder the router reads), the streaming
// absorbed-MLA projections for 1..4 tokens, the one-pass router logits, the vectorised decode
// attention (GQA and MLA's shared latent; plain and vectorised with --context-splits), and the shapes
// each refuses. Outputs are poisoned with NaN first, so an element a kernel skips cannot pass.
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

template <class T>
gpu::DeviceBuffer upload(const std::vector<T>& x) {
  gpu::DeviceBuffer d(x.size() * sizeof(T));
  EXPECT_EQ(cudaMemcpy(d.data(), x.data(), d.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

std::vector<float> download_bf16(const gpu::DeviceBuffer& d) {
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<bf16> raw(d.bytes() / sizeof(bf16));
  EXPECT_EQ(cudaMemcpy(raw.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = __bfloat162float(raw[i]);
  return out;
}

std::vector<bf16> random_bf16(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<bf16> x(n);
  for (bf16& e : x) e = __float2bfloat16(normal(rng));
  return x;
}

double bf(bf16 x) { return __bfloat162float(x); }

// ||got - want|| / ||want||, failing on any element that is not finite (unwritten).
double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ADD_FAILURE() << "element " << i << " not written or not finite";
      return INFINITY;
    }
    err2 += (got[i] - want[i]) * (got[i] - want[i]);
    ref2 += want[i] * want[i];
  }
  return std::sqrt(err2 / ref2);
}

// 1. RMSNorm: rows of n fp32 values (row stride ldx > n), written at out row offset 2 of a wider
//    output, with the bf16 remainder: hi + lo carries the fp32 value to ~16 bits.
TEST(FastKernels, VectorisedRmsNormMatchesReference) {
  MOESCOPE_REQUIRE_GPU();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int n : {4096, 2048, 7168, 1536, 512, 64}) {
    for (int rows : {1, 3}) {
      SCOPED_TRACE("n " + std::to_string(n) + " rows " + std::to_string(rows));
      const int64_t ldx = n + 64, ldo = n + 8;
      const int offset = 2;
      std::vector<float> x(static_cast<size_t>(rows * ldx)), w(static_cast<size_t>(n));
      for (float& v : x) v = 3.0f * normal(rng);
      for (float& v : w) v = 1.0f + 0.1f * normal(rng);
      const auto dx = upload(x), dw = upload(w);
      const std::vector<bf16> poison(static_cast<size_t>((rows + offset) * ldo), __float2bfloat16(NAN));
      const std::vector<bf16> poison_lo(static_cast<size_t>(rows * n), __float2bfloat16(NAN));
      const auto dout = upload(poison), dlo = upload(poison_lo);
      const std::vector<int32_t> off{offset};
      const auto doff = upload(off);
      ASSERT_TRUE(gpu::launch_rmsnorm_vectorised(dx.as<float>(), ldx, dw.as<float>(), n, 1e-5f,
                                                 dout.as<bf16>(), ldo, rows, doff.as<int>(), nullptr,
                                                 dlo.as<bf16>()));
      const auto out = download_bf16(dout), lo = download_bf16(dlo);
      std::vector<float> got_hi, got_sum;
      std::vector<double> want;
      for (int r = 0; r < rows; ++r) {
        double ss = 0;
        for (int i = 0; i < n; ++i) ss += double(x[r * ldx + i]) * x[r * ldx + i];
        const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
        for (int i = 0; i < n; ++i) {
          want.push_back(x[r * ldx + i] * inv * w[i]);
          const float hi = out[(r + offset) * ldo + i];
          got_hi.push_back(hi);
          got_sum.push_back(hi + lo[r * n + i]);
        }
      }
      EXPECT_LE(rel_error(got_hi, want), 4e-3);   // bf16 rounding
      EXPECT_LE(rel_error(got_sum, want), 1e-5);  // hi + lo: fp32 to ~16 bits
    }
  }
}

// 2. RMSNorm refuses what its 16-byte loads cannot take, launching nothing.
TEST(FastKernels, VectorisedRmsNormRefusesOddWidthsAndMisalignedRows) {
  MOESCOPE_REQUIRE_GPU();
  gpu::DeviceBuffer x(64 * 1024), w(64 * 1024), out(64 * 1024);
  EXPECT_FALSE(gpu::launch_rmsnorm_vectorised(x.as<float>(), 64, w.as<float>(), 62, 1e-5f, out.as<bf16>(), 64,
                                              1, nullptr, nullptr));
  EXPECT_FALSE(gpu::launch_rmsnorm_vectorised(x.as<float>() + 1, 64, w.as<float>(), 64, 1e-5f, out.as<bf16>(),
                                              64, 1, nullptr, nullptr));
  EXPECT_FALSE(gpu::launch_rmsnorm_vectorised(x.as<float>(), 8200, w.as<float>(), 8196, 1e-5f, out.as<bf16>(),
                                              8196, 1, nullptr, nullptr));
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

struct MlaShape {
  int H, nope, rope, dv, kv_lora;
};

// 3. Absorb: q_abs(t, h) = [W_UK(h)^T q_nope(t, h) | q_pe(t, h)] and uv: out(t, h*dv + v) =
//    W_UV(h)[v] . o_lat(t, h), for DeepSeek-V2-Lite's, V3's and the golden models' shapes and every
//    decode width; the plain kernels run on the same inputs as a second opinion.
TEST(FastKernels, StreamingMlaProjectionsMatchReference) {
  MOESCOPE_REQUIRE_GPU();
  std::mt19937 rng(9);
  for (const MlaShape s :
       {MlaShape{16, 128, 64, 128, 512}, MlaShape{128, 128, 64, 128, 512}, MlaShape{4, 16, 8, 16, 32}}) {
    const int qk = s.nope + s.rope, latent_w = s.kv_lora + s.rope;
    const auto kv_b = random_bf16(static_cast<size_t>(s.H) * (s.nope + s.dv) * s.kv_lora, rng);
    const auto dkv = upload(kv_b);
    for (int T = 1; T <= gpu::kMaxDecodeTokens; ++T) {
      SCOPED_TRACE("H " + std::to_string(s.H) + " kv_lora " + std::to_string(s.kv_lora) + " T " +
                   std::to_string(T));
      const auto q = random_bf16(static_cast<size_t>(T) * s.H * qk, rng);
      const auto o_lat = random_bf16(static_cast<size_t>(T) * s.H * s.kv_lora, rng);
      const auto dq = upload(q), dolat = upload(o_lat);
      const std::vector<bf16> poison_abs(static_cast<size_t>(T) * s.H * latent_w, __float2bfloat16(NAN));
      const std::vector<bf16> poison_uv(static_cast<size_t>(T) * s.H * s.dv, __float2bfloat16(NAN));
      auto dabs = upload(poison_abs), dabs_plain = upload(poison_abs), duv = upload(poison_uv),
           duv_plain = upload(poison_uv);
      ASSERT_TRUE(gpu::launch_mla_absorb_streaming(dq.as<bf16>(), dkv.as<bf16>(), T, s.H, s.nope, s.dv,
                                                   s.kv_lora, s.rope, dabs.as<bf16>(), nullptr));
      ASSERT_TRUE(gpu::launch_mla_uv_streaming(dolat.as<bf16>(), dkv.as<bf16>(), T, s.H, s.nope, s.dv,
                                               s.kv_lora, duv.as<bf16>(), nullptr));
      gpu::launch_mla_absorb(dq.as<bf16>(), dkv.as<bf16>(), T, s.H, s.nope, s.dv, s.kv_lora, s.rope,
                             dabs_plain.as<bf16>(), nullptr);
      gpu::launch_mla_uv(dolat.as<bf16>(), dkv.as<bf16>(), T, s.H, s.nope, s.dv, s.kv_lora,
                         duv_plain.as<bf16>(), nullptr);
      std::vector<double> want_abs, want_uv;
      for (int t = 0; t < T; ++t) {
        for (int h = 0; h < s.H; ++h) {
          const bf16* qh = &q[(static_cast<size_t>(t) * s.H + h) * qk];
          const bf16* wh = &kv_b[static_cast<size_t>(h) * (s.nope + s.dv) * s.kv_lora];
          for (int c = 0; c < s.kv_lora; ++c) {
            double acc = 0;
            for (int i = 0; i < s.nope; ++i)
              acc += bf(qh[i]) * bf(wh[static_cast<size_t>(i) * s.kv_lora + c]);
            want_abs.push_back(acc);
          }
          for (int i = 0; i < s.rope; ++i) want_abs.push_back(bf(qh[s.nope + i]));
        }
        for (int h = 0; h < s.H; ++h) {
          const bf16* oh = &o_lat[(static_cast<size_t>(t) * s.H + h) * s.kv_lora];
          for (int v = 0; v < s.dv; ++v) {
            const bf16* row = &kv_b[(static_cast<size_t>(h) * (s.nope + s.dv) + s.nope + v) * s.kv_lora];
            double acc = 0;
            for (int c = 0; c < s.kv_lora; ++c) acc += bf(row[c]) * bf(oh[c]);
            want_uv.push_back(acc);
          }
        }
      }
      const double abs_err = rel_error(download_bf16(dabs), want_abs);
      const double uv_err = rel_error(download_bf16(duv), want_uv);
      EXPECT_LE(abs_err, 4e-3);  // fp32 sums of exact bf16 products, one bf16 rounding
      EXPECT_LE(uv_err, 4e-3);
      EXPECT_LE(rel_error(download_bf16(dabs_plain), want_abs), 4e-3);
      EXPECT_LE(rel_error(download_bf16(duv_plain), want_uv), 4e-3);
    }
  }
}

// 4. The MLA kernels refuse widths their vector loads cannot take.
TEST(FastKernels, StreamingMlaProjectionsRefuseOddWidths) {
  MOESCOPE_REQUIRE_GPU();
  gpu::DeviceBuffer q(1 << 20), kv(1 << 20), out(1 << 20);
  EXPECT_FALSE(gpu::launch_mla_absorb_streaming(q.as<bf16>(), kv.as<bf16>(), 1, 2, 16, 16, 30, 8,
                                                out.as<bf16>(), nullptr));
  EXPECT_FALSE(gpu::launch_mla_absorb_streaming(q.as<bf16>(), kv.as<bf16>(), 5, 2, 16, 16, 32, 8,
                                                out.as<bf16>(), nullptr));
  EXPECT_FALSE(
      gpu::launch_mla_uv_streaming(q.as<bf16>(), kv.as<bf16>(), 1, 2, 16, 16, 36, out.as<bf16>(), nullptr));
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

// 5. Router logits W (xb + xlo) for Mixtral's, DeepSeek-V2-Lite's, V3's and a golden model's router
//    shapes and every decode width, in fp32 against double sums of the same bf16 inputs.
TEST(FastKernels, RouterGemvMatchesReference) {
  MOESCOPE_REQUIRE_GPU();
  std::mt19937 rng(13);
  struct Shape {
    int E, hidden;
  };
  for (const Shape s : {Shape{8, 4096}, Shape{64, 2048}, Shape{256, 7168}, Shape{8, 64}}) {
    const auto w = random_bf16(static_cast<size_t>(s.E) * s.hidden, rng);
    const auto dw = upload(w);
    for (int T = 1; T <= gpu::kMaxDecodeTokens; ++T) {
      SCOPED_TRACE("E " + std::to_string(s.E) + " hidden " + std::to_string(s.hidden) + " T " +
                   std::to_string(T));
      const auto xb = random_bf16(static_cast<size_t>(T) * s.hidden, rng);
      auto xlo = random_bf16(static_cast<size_t>(T) * s.hidden, rng);
      for (bf16& v : xlo) v = __float2bfloat16(__bfloat162float(v) * 1e-3f);  // a rounding remainder's size
      const auto dxb = upload(xb), dxlo = upload(xlo);
      const std::vector<float> poison(static_cast<size_t>(T) * s.E, NAN);
      const auto dlogits = upload(poison);
      gpu::launch_router_gemv(dw.as<bf16>(), s.E, s.hidden, dxb.as<bf16>(), dxlo.as<bf16>(), s.hidden, T,
                              dlogits.as<float>(), nullptr);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      std::vector<float> got(poison.size());
      ASSERT_EQ(cudaMemcpy(got.data(), dlogits.data(), dlogits.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
      std::vector<double> want;
      for (int t = 0; t < T; ++t)
        for (int e = 0; e < s.E; ++e) {
          double acc = 0;
          for (int i = 0; i < s.hidden; ++i)
            acc += bf(w[static_cast<size_t>(e) * s.hidden + i]) *
                   (bf(xb[static_cast<size_t>(t) * s.hidden + i]) +
                    bf(xlo[static_cast<size_t>(t) * s.hidden + i]));
          want.push_back(acc);
        }
      EXPECT_LE(rel_error(got, want), 1e-5);  // fp32 accumulation only
    }
  }
}

struct DecodeShape {
  int H, kvH, dk, dv;
  bool shared_latent;  // MLA: one kv "head" whose values are the first dv columns of the key row
};

// 6. Decode attention with the vectorised partial pass, over 150 cached positions in chunks of 64,
//    for one and two query tokens, against softmax(scale q k^T) v in double.
TEST(FastKernels, VectorisedDecodeAttentionMatchesReference) {
  MOESCOPE_REQUIRE_GPU();
  std::mt19937 rng(17);
  for (const DecodeShape s : {DecodeShape{32, 8, 128, 128, false}, DecodeShape{16, 1, 576, 512, true},
                              DecodeShape{4, 1, 40, 32, true}, DecodeShape{4, 2, 16, 16, false}}) {
    // Variant 0: the fixed 64-position chunk; 1 and 2 (--context-splits, vectorised and plain): a
    // chunk capacity of 512 over 8 splits, which the 150..151 keys seen spread over 5 of.
    // Variant 3: --context-splits with --fast-merge's merge.
    for (int variant = 0; variant < 4; ++variant) {
      for (int T : {1, 2}) {
        SCOPED_TRACE("H " + std::to_string(s.H) + " dk " + std::to_string(s.dk) + " T " + std::to_string(T) +
                     " variant " + std::to_string(variant));
        const int pos0 = 149, ctx = pos0 + T;
        const int chunk = variant == 0 ? 64 : 512, splits = variant == 0 ? (ctx + chunk - 1) / chunk : 8;
        const int64_t k_pos = static_cast<int64_t>(s.kvH) * s.dk;
        const int64_t v_pos = s.shared_latent ? k_pos : static_cast<int64_t>(s.kvH) * s.dv;
        const auto q = random_bf16(static_cast<size_t>(T) * s.H * s.dk, rng);
        const auto k = random_bf16(static_cast<size_t>(ctx * k_pos), rng);
        const auto v = s.shared_latent ? k : random_bf16(static_cast<size_t>(ctx * v_pos), rng);
        const auto dq = upload(q), dk = upload(k), dv = upload(v);
        const std::vector<int32_t> pos{pos0};
        const auto dpos = upload(pos);
        gpu::DeviceBuffer part_o(static_cast<size_t>(T) * s.H * splits * s.dv * 4),
            part_ml(static_cast<size_t>(T) * s.H * splits * 8);
        const std::vector<bf16> poison(static_cast<size_t>(T) * s.H * s.dv, __float2bfloat16(NAN));
        auto dout = upload(poison);
        gpu::DecodeAttention a;
        a.q = dq.as<bf16>();
        a.q_stride_t = static_cast<int64_t>(s.H) * s.dk;
        a.k = dk.as<bf16>();
        a.k_stride_pos = k_pos;
        a.k_stride_head = s.shared_latent ? 0 : s.dk;
        a.v = dv.as<bf16>();
        a.v_stride_pos = v_pos;
        a.v_stride_head = s.shared_latent ? 0 : s.dv;
        a.dk = s.dk;
        a.dv = s.dv;
        a.heads = s.H;
        a.group = s.H / s.kvH;
        a.T = T;
        a.scale = 1.0f / std::sqrt(static_cast<float>(s.dk));
        a.d_pos = dpos.as<int>();
        a.chunk = chunk;
        a.n_splits = splits;
        a.part_o = part_o.as<float>();
        a.part_ml = part_ml.as<float>();
        a.out = dout.as<bf16>();
        a.out_stride_t = static_cast<int64_t>(s.H) * s.dv;
        a.context_splits = variant > 0;
        ASSERT_TRUE(gpu::launch_decode_partial_vectorised(a, nullptr)) << "refused a shape it should take";
        a.vectorised = variant != 2;
        a.merge_weights_once = variant == 3;
        gpu::launch_decode_attention(a, nullptr);
        std::vector<double> want;
        for (int t = 0; t < T; ++t) {
          for (int h = 0; h < s.H; ++h) {
            const int g = h / a.group, seen = pos0 + t + 1;
            std::vector<double> p(static_cast<size_t>(seen));
            double m = -INFINITY, sum = 0;
            for (int j = 0; j < seen; ++j) {
              double dot = 0;
              for (int i = 0; i < s.dk; ++i)
                dot += bf(q[(static_cast<size_t>(t) * s.H + h) * s.dk + i]) *
                       bf(k[j * k_pos + a.k_stride_head * g + i]);
              p[j] = dot * a.scale;
              m = std::max(m, p[j]);
            }
            for (double& x : p) sum += x = std::exp(x - m);
            for (int c = 0; c < s.dv; ++c) {
              double o = 0;
              for (int j = 0; j < seen; ++j) o += p[j] * bf(v[j * v_pos + a.v_stride_head * g + c]);
              want.push_back(o / sum);
            }
          }
        }
        EXPECT_LE(rel_error(download_bf16(dout), want), 1e-2);  // bf16 output, fp32 softmax
      }
    }
  }
}

// 7. The clock stamp reads a nanosecond timer that moves forward across a busy kernel.
TEST(FastKernels, ClockStampsIncreaseAcrossWork) {
  MOESCOPE_REQUIRE_GPU();
  gpu::DeviceBuffer slots(2 * sizeof(uint64_t)), big(size_t{256} << 20);
  gpu::launch_clock_stamp(slots.as<uint64_t>(), nullptr);
  ASSERT_EQ(cudaMemset(big.data(), 1, big.bytes()), cudaSuccess);
  gpu::launch_clock_stamp(slots.as<uint64_t>() + 1, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  uint64_t t[2];
  ASSERT_EQ(cudaMemcpy(t, slots.data(), sizeof(t), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_GT(t[1], t[0]);
  EXPECT_LT(t[1] - t[0], uint64_t{1000000000});  // a 256 MB memset: well under a second
  std::printf("[ clock   ] 256 MB memset between two stamps: %.1f us\n",
              static_cast<double>(t[1] - t[0]) * 1e-3);
}

}  // namespace
}  // namespace moescope
