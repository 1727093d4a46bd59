// Absorbed-MLA decode projections of --fast-kernels, written to stream kv_b at bandwidth.
//
// absorb: q_abs(t, h, c) = sum_i q_nope(t, h, i) W_UK(h)[i, c], W_UK(h) the first `nope` rows of
// head h's (nope + dv, kv_lora) block of kv_b. The plain kernel ran one block per head (16 blocks
// for DeepSeek-V2-Lite, 46 us a call for 2 MB); here a block owns 128 columns of one head, its 16
// warps split the rows, every lane reads 4 adjacent columns (8 bytes) per row, and the warps'
// partial sums meet in shared memory: (kv_lora / 128) x H blocks, each weight read once for all
// tokens of the step.
// uv: out(t, h*dv + v) = W_UV(h)[v] . o_lat(t, h), one warp per row with 16-byte loads (the GEMV
// pattern of gemv.cu) instead of 2-byte ones.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

constexpr int kAbsorbWarps = 16;
constexpr int kAbsorbCols = 128;  // 32 lanes x 4 columns

// grid (ceil(kv_lora / 128), H), block kAbsorbWarps * 32; dynamic shared: q_nope (T, nope) and the
// warps' partial sums (kAbsorbWarps, T, 128), fp32.
template <int T>
__global__ void __launch_bounds__(kAbsorbWarps * 32)
    mla_absorb_stream_kernel(const bf16* q, const bf16* kv_b, int H, int nope, int dv, int kv_lora,
                             int rope_dim, bf16* q_abs) {
  wait_for_prior_kernels();
  extern __shared__ float smem[];
  float* qn = smem;                  // (T, nope)
  float* partial = smem + T * nope;  // (kAbsorbWarps, T, kAbsorbCols)
  const int h = blockIdx.y, c0 = blockIdx.x * kAbsorbCols;
  const int qk = nope + rope_dim, latent_w = kv_lora + rope_dim;
  for (int idx = threadIdx.x; idx < T * nope; idx += blockDim.x) {
    const int t = idx / nope, i = idx % nope;
    qn[idx] = __bfloat162float(q[(static_cast<int64_t>(t) * H + h) * qk + i]);
  }
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int c = c0 + lane * 4;
  float acc[T][4] = {};
  if (c < kv_lora) {
    const bf16* w = kv_b + static_cast<int64_t>(h) * (nope + dv) * kv_lora + c;
#pragma unroll 4
    for (int i = warp; i < nope; i += kAbsorbWarps) {
      const uint2 raw = __ldcs(reinterpret_cast<const uint2*>(w + static_cast<int64_t>(i) * kv_lora));
      const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
      const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
#pragma unroll
      for (int t = 0; t < T; ++t) {
        const float s = qn[t * nope + i];
        acc[t][0] = fmaf(s, a.x, acc[t][0]);
        acc[t][1] = fmaf(s, a.y, acc[t][1]);
        acc[t][2] = fmaf(s, b.x, acc[t][2]);
        acc[t][3] = fmaf(s, b.y, acc[t][3]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < T; ++t)
#pragma unroll
    for (int j = 0; j < 4; ++j) partial[(warp * T + t) * kAbsorbCols + lane * 4 + j] = acc[t][j];
  __syncthreads();
  for (int idx = threadIdx.x; idx < T * kAbsorbCols; idx += blockDim.x) {
    const int t = idx / kAbsorbCols, col = idx % kAbsorbCols;
    if (c0 + col >= kv_lora) continue;
    float sum = 0.0f;
    for (int w = 0; w < kAbsorbWarps; ++w) sum += partial[(w * T + t) * kAbsorbCols + col];
    q_abs[(static_cast<int64_t>(t) * H + h) * latent_w + c0 + col] = __float2bfloat16(sum);
  }
  if (blockIdx.x == 0) {  // the rope part of the query passes through
    for (int idx = threadIdx.x; idx < T * rope_dim; idx += blockDim.x) {
      const int t = idx / rope_dim, i = idx % rope_dim;
      q_abs[(static_cast<int64_t>(t) * H + h) * latent_w + kv_lora + i] =
          q[(static_cast<int64_t>(t) * H + h) * qk + nope + i];
    }
  }
}

// One warp per output row (h, v) of H*dv; 8 warps a block.
template <int T>
__global__ void __launch_bounds__(256) mla_uv_stream_kernel(const bf16* o_lat, const bf16* kv_b, int H,
                                                            int nope, int dv, int kv_lora, bf16* out) {
  wait_for_prior_kernels();
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int64_t rows = static_cast<int64_t>(H) * dv;
  if (row >= rows) return;
  const int h = static_cast<int>(row / dv), v = static_cast<int>(row % dv);
  const uint4* w =
      reinterpret_cast<const uint4*>(kv_b + (static_cast<int64_t>(h) * (nope + dv) + nope + v) * kv_lora);
  const int n = kv_lora / 8;
  float acc[T] = {};
#pragma unroll 2
  for (int c = lane; c < n; c += 32) {
    const uint4 wv = load_stream(w + c);
#pragma unroll
    for (int t = 0; t < T; ++t)
      acc[t] +=
          dot8(wv, reinterpret_cast<const uint4*>(o_lat + (static_cast<int64_t>(t) * H + h) * kv_lora)[c]);
  }
#pragma unroll
  for (int t = 0; t < T; ++t) {
    const float s = warp_sum(acc[t]);
    if (lane == 0) out[static_cast<int64_t>(t) * rows + row] = __float2bfloat16(s);
  }
}

template <int T>
void absorb(const bf16* q, const bf16* kv_b, int H, int nope, int dv, int kv_lora, int rope_dim, bf16* q_abs,
            cudaStream_t stream) {
  const size_t smem =
      (static_cast<size_t>(T) * nope + static_cast<size_t>(kAbsorbWarps) * T * kAbsorbCols) * 4;
  const dim3 grid((kv_lora + kAbsorbCols - 1) / kAbsorbCols, H);
  launch_kernel(mla_absorb_stream_kernel<T>, grid, dim3(kAbsorbWarps * 32), smem, stream, q, kv_b, H, nope,
                dv, kv_lora, rope_dim, q_abs);
}

template <int T>
void uv(const bf16* o_lat, const bf16* kv_b, int H, int nope, int dv, int kv_lora, bf16* out,
        cudaStream_t stream) {
  const int64_t warps = static_cast<int64_t>(H) * dv;
  launch_kernel(mla_uv_stream_kernel<T>, dim3(static_cast<unsigned>((warps + 7) / 8)), dim3(256), 0, stream,
                o_lat, kv_b, H, nope, dv, kv_lora, out);
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace

bool launch_mla_absorb_streaming(const bf16* q, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                                 int rope_dim, bf16* q_abs, cudaStream_t stream) {
  // 8-byte weight loads need kv_lora % 4 == 0; shared memory stays under 48 KB with nope <= 512.
  if (kv_lora % 4 != 0 || !aligned(kv_b, 8) || nope > 512 || T < 1 || T > kMaxDecodeTokens) return false;
  switch (T) {
    case 1:
      absorb<1>(q, kv_b, H, nope, dv, kv_lora, rope_dim, q_abs, stream);
      break;
    case 2:
      absorb<2>(q, kv_b, H, nope, dv, kv_lora, rope_dim, q_abs, stream);
      break;
    case 3:
      absorb<3>(q, kv_b, H, nope, dv, kv_lora, rope_dim, q_abs, stream);
      break;
    default:
      absorb<4>(q, kv_b, H, nope, dv, kv_lora, rope_dim, q_abs, stream);
      break;
  }
  CUDA_CHECK_LAUNCH();
  return true;
}

bool launch_mla_uv_streaming(const bf16* o_lat, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                             bf16* out, cudaStream_t stream) {
  // 16-byte loads of weight rows and o_lat rows (checked here; kv_b and o_lat start 256-byte aligned).
  if (kv_lora % 8 != 0 || !aligned(kv_b, 16) || !aligned(o_lat, 16) || T < 1 || T > kMaxDecodeTokens)
    return false;
  switch (T) {
    case 1:
      uv<1>(o_lat, kv_b, H, nope, dv, kv_lora, out, stream);
      break;
    case 2:
      uv<2>(o_lat, kv_b, H, nope, dv, kv_lora, out, stream);
      break;
    case 3:
      uv<3>(o_lat, kv_b, H, nope, dv, kv_lora, out, stream);
      break;
    default:
      uv<4>(o_lat, kv_b, H, nope, dv, kv_lora, out, stream);
      break;
  }
  CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace moescope::gpu
