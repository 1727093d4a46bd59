// Decode GEMV kernels over fp8 weights (gpu/fp8_kernels.h): gpu/gemv.cu's kernels with each 16-byte
// load carrying 16 e4m3 values instead of 8 bf16 ones, converted in registers (e4m3 -> f16 is exact)
// and the partial dot product of each 16-column piece multiplied by its block's scale. Half the bytes
// of bf16 for the same rows: decode, bound by weight reads, approaches twice the speed.
#include <cuda_fp8.h>

#include <algorithm>

#include "gpu/cuda_check.h"
#include "gpu/fp8_kernels.h"
#include "gpu/kernel_common.cuh"

namespace moescope::gpu {
namespace {

constexpr int kFp8Threads = 256;
constexpr int kFp8Warps = kFp8Threads / 32;

// 16 e4m3 (a uint4) times 16 bf16 (two uint4).
__device__ __forceinline__ float fp8_dot16(const uint4& w, const uint4* x) {
  const uint4 x0 = x[0], x1 = x[1];
  const __nv_bfloat162* xb0 = reinterpret_cast<const __nv_bfloat162*>(&x0);
  const __nv_bfloat162* xb1 = reinterpret_cast<const __nv_bfloat162*>(&x1);
  const __nv_fp8x2_storage_t* wp = reinterpret_cast<const __nv_fp8x2_storage_t*>(&w);
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const __half2_raw hr = __nv_cvt_fp8x2_to_halfraw2(wp[i], __NV_E4M3);
    const float2 wf = __half22float2(*reinterpret_cast<const __half2*>(&hr));
    const float2 xf = __bfloat1622float2(i < 4 ? xb0[i] : xb1[i - 4]);
    s = fmaf(wf.x, xf.x, s);
    s = fmaf(wf.y, xf.y, s);
  }
  return s;
}

// acc[t] += W_row . x[t] over cols (cols % 16 == 0), each 16-column piece scaled by its block's scale.
template <int T>
__device__ __forceinline__ void fp8_row_dot(const uint8_t* w_row, const float* scale_row, int cols, const bf16* x,
                                            int64_t ldx, float* acc) {
  const uint4* w = reinterpret_cast<const uint4*>(w_row);
  const int n = cols / 16;
  const int lane = threadIdx.x % 32;
#pragma unroll 4
  for (int c = lane; c < n; c += 32) {
    const uint4 wv = load_stream(w + c);
    const float scale = scale_row[c / 8];  // 8 pieces of 16 columns per 128-column block
#pragma unroll
    for (int t = 0; t < T; ++t)
      acc[t] = fmaf(scale, fp8_dot16(wv, reinterpret_cast<const uint4*>(x + t * ldx) + 2 * c), acc[t]);
  }
}

__device__ __forceinline__ const float* fp8_scale_row(const Fp8View& W, int64_t row, int cols) {
  return W.scales + (row / W.scale_rows) * ((cols + 127) / 128);
}

template <int T>
__global__ void __launch_bounds__(kFp8Threads) fp8_gemv_kernel(Fp8View W, int rows, int cols, const bf16* x,
                                                                int64_t ldx, void* out, int64_t ldo, GemvOut mode) {
  const int row = blockIdx.x * kFp8Warps + threadIdx.x / 32;
  if (row >= rows) return;
  float acc[T] = {};
  fp8_row_dot<T>(W.values + static_cast<int64_t>(row) * cols, fp8_scale_row(W, row, cols), cols, x, ldx, acc);
#pragma unroll
  for (int t = 0; t < T; ++t) {
    const float v = warp_sum(acc[t]);
    if (threadIdx.x % 32 != 0) continue;
    const int64_t i = t * ldo + row;
    if (mode == GemvOut::store_f32) {
      static_cast<float*>(out)[i] = v;
    } else if (mode == GemvOut::add_f32) {
      static_cast<float*>(out)[i] += v;
    } else {
      static_cast<bf16*>(out)[i] = __float2bfloat16(v);
    }
  }
}

__global__ void __launch_bounds__(kFp8Threads) fp8_swiglu_gemv_kernel(Fp8View W, const int32_t* ids, int k,
                                                                       const bf16* x, int64_t ldx, int I, int hidden,
                                                                       bf16* act) {
  const int j = blockIdx.x * kFp8Warps + threadIdx.x / 32;
  if (j >= I) return;
  const int a = blockIdx.y;
  const int t = a / k;
  const Fp8View We = W.expert(ids ? ids[a] : 0);
  float g[1] = {}, u[1] = {};
  fp8_row_dot<1>(We.values + static_cast<int64_t>(j) * hidden, fp8_scale_row(We, j, hidden), hidden, x + t * ldx, ldx,
                 g);
  fp8_row_dot<1>(We.values + static_cast<int64_t>(I + j) * hidden, fp8_scale_row(We, I + j, hidden), hidden,
                 x + t * ldx, ldx, u);
  const float gs = warp_sum(g[0]), us = warp_sum(u[0]);
  if (threadIdx.x % 32 == 0) act[static_cast<int64_t>(a) * I + j] = __float2bfloat16(silu(gs) * us);
}

// One warp per output row r. Unlike gpu/gemv.cu's kernel, each lane accumulates its share of all k
// weighted expert rows before the one warp reduction per token: with fp8's half-as-long rows the
// per-expert reductions would otherwise serialise the loads of the next expert behind them.
__global__ void __launch_bounds__(kFp8Threads) fp8_down_combine_kernel(Fp8View W, const int32_t* ids,
                                                                        const float* weights, const uint8_t* dropped,
                                                                        int T, int k, const bf16* act, int I,
                                                                        int hidden, float* h) {
  const int r = blockIdx.x * kFp8Warps + threadIdx.x / 32;
  if (r >= hidden) return;
  for (int t = 0; t < T; ++t) {
    float total = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int a = t * k + j;
      if (dropped && dropped[a]) continue;
      const Fp8View We = W.expert(ids[a]);
      float acc[1] = {};
      fp8_row_dot<1>(We.values + static_cast<int64_t>(r) * I, fp8_scale_row(We, r, I), I,
                     act + static_cast<int64_t>(a) * I, I, acc);
      total = fmaf(weights[a], acc[0], total);
    }
    total = warp_sum(total);
    if (threadIdx.x % 32 == 0) h[static_cast<int64_t>(t) * hidden + r] += total;
  }
}

__global__ void fp8_dequantize_kernel(Fp8View W, int64_t first_row, int64_t n_rows, int64_t cols, bf16* out) {
  const int64_t n = n_rows * cols;
  const int64_t scale_cols = (cols + 127) / 128;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = first_row + i / cols, col = i % cols;
    const __half_raw hr = __nv_cvt_fp8_to_halfraw(W.values[row * cols + col], __NV_E4M3);
    const float scale = W.scales[(row / W.scale_rows) * scale_cols + col / 128];
    out[i] = __float2bfloat16(__half2float(*reinterpret_cast<const __half*>(&hr)) * scale);
  }
}

__device__ inline uint64_t fp8_mix64(uint64_t x) {  // splitmix64 finaliser, as gpu/fill.cu
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

__global__ void fp8_fill_kernel(uint8_t* out, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t r = fp8_mix64(seed ^ (static_cast<uint64_t>(i) * 0xD1B54A32D192ED03ull));
    const float u = static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
    out[i] = __nv_cvt_float_to_fp8(448.0f * u, __NV_SATFINITE, __NV_E4M3);
  }
}

int fp8_blocks_for(int rows) { return (rows + kFp8Warps - 1) / kFp8Warps; }

void fp8_require_cols(int cols) {
  if (cols % 16 != 0)
    throw ResourceError("CUDA engine: fp8 GEMV needs a width that is a multiple of 16, got " + std::to_string(cols));
}

}  // namespace

void launch_gemv_fp8(const Fp8View& W, int rows, int cols, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo,
                     GemvOut mode, cudaStream_t stream) {
  fp8_require_cols(cols);
  const int blocks = fp8_blocks_for(rows);
  switch (T) {
    case 1: fp8_gemv_kernel<1><<<blocks, kFp8Threads, 0, stream>>>(W, rows, cols, x, ldx, out, ldo, mode); break;
    case 2: fp8_gemv_kernel<2><<<blocks, kFp8Threads, 0, stream>>>(W, rows, cols, x, ldx, out, ldo, mode); break;
    case 3: fp8_gemv_kernel<3><<<blocks, kFp8Threads, 0, stream>>>(W, rows, cols, x, ldx, out, ldo, mode); break;
    case 4: fp8_gemv_kernel<4><<<blocks, kFp8Threads, 0, stream>>>(W, rows, cols, x, ldx, out, ldo, mode); break;
    default: throw ResourceError("CUDA engine: GEMV path takes at most 4 tokens");
  }
  CUDA_CHECK_LAUNCH();
}

void launch_swiglu_gemv_fp8(const Fp8View& W, const int32_t* ids, int T, int k, const bf16* x, int64_t ldx, int I,
                            int hidden, bf16* act, cudaStream_t stream) {
  fp8_require_cols(hidden);
  fp8_swiglu_gemv_kernel<<<dim3(fp8_blocks_for(I), T * k), kFp8Threads, 0, stream>>>(W, ids, k, x, ldx, I, hidden,
                                                                                      act);
  CUDA_CHECK_LAUNCH();
}

void launch_down_combine_gemv_fp8(const Fp8View& W, const int32_t* ids, const float* weights, const uint8_t* dropped,
                                  int T, int k, const bf16* act, int I, int hidden, float* h, cudaStream_t stream) {
  fp8_require_cols(I);
  fp8_down_combine_kernel<<<fp8_blocks_for(hidden), kFp8Threads, 0, stream>>>(W, ids, weights, dropped, T, k, act, I,
                                                                               hidden, h);
  CUDA_CHECK_LAUNCH();
}

void launch_dequantize_fp8(const Fp8View& W, int64_t first_row, int64_t n_rows, int64_t cols, bf16* out,
                           cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<int64_t>((n_rows * cols + 255) / 256, 8192));
  fp8_dequantize_kernel<<<blocks, 256, 0, stream>>>(W, first_row, n_rows, cols, out);
  CUDA_CHECK_LAUNCH();
}

void launch_fill_uniform_fp8(uint8_t* out, int64_t n, uint64_t seed, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 4096));
  fp8_fill_kernel<<<blocks, 256, 0, stream>>>(out, n, seed);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
