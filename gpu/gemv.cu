// Matrix-vector kernels for decode steps (T <= kMaxDecodeTokens tokens): memory-bound, so one warp
// streams one weight row with 16-byte loads and applies it to every token of the step. The expert
// variants read the routed expert ids from device memory (no host round trip, graph-capturable) and
// fuse SwiGLU (gate/up) or the weighted combine (down).
#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// acc[t] += W_row . x[t] over cols (cols % 8 == 0).
template <int T>
__device__ __forceinline__ void row_dot(const bf16* w_row, int cols, const bf16* x, int64_t ldx, float* acc) {
  const uint4* w = reinterpret_cast<const uint4*>(w_row);
  const int n = cols / 8;
  const int lane = threadIdx.x % 32;
#pragma unroll 4
  for (int c = lane; c < n; c += 32) {
    const uint4 wv = load_stream(w + c);
#pragma unroll
    for (int t = 0; t < T; ++t) acc[t] += dot8(wv, reinterpret_cast<const uint4*>(x + t * ldx)[c]);
  }
}

template <int T>
__global__ void __launch_bounds__(kThreads) gemv_kernel(const bf16* W, int rows, int cols, const bf16* x,
                                                        int64_t ldx, void* out, int64_t ldo, GemvOut mode) {
  wait_for_prior_kernels();
  const int row = blockIdx.x * kWarps + threadIdx.x / 32;
  if (row >= rows) return;
  float acc[T] = {};
  row_dot<T>(W + static_cast<int64_t>(row) * cols, cols, x, ldx, acc);
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

// grid (ceil(I / kWarps), T*k): row j of the gate and of the up half for one assignment.
__global__ void __launch_bounds__(kThreads)
    swiglu_gemv_kernel(const bf16* W, int64_t expert_stride, const int32_t* ids, int k, const bf16* x,
                       int64_t ldx, int I, int hidden, bf16* act) {
  wait_for_prior_kernels();
  const int j = blockIdx.x * kWarps + threadIdx.x / 32;
  if (j >= I) return;
  const int a = blockIdx.y;
  const int t = a / k;
  const bf16* We = W + (ids ? static_cast<int64_t>(ids[a]) * expert_stride : 0);
  float g[1] = {}, u[1] = {};
  row_dot<1>(We + static_cast<int64_t>(j) * hidden, hidden, x + t * ldx, ldx, g);
  row_dot<1>(We + static_cast<int64_t>(I + j) * hidden, hidden, x + t * ldx, ldx, u);
  const float gs = warp_sum(g[0]), us = warp_sum(u[0]);
  if (threadIdx.x % 32 == 0) act[static_cast<int64_t>(a) * I + j] = __float2bfloat16(silu(gs) * us);
}

// One warp per output row r: every token's k expert rows, weighted and summed into h.
__global__ void __launch_bounds__(kThreads)
    down_combine_kernel(const bf16* W, int64_t expert_stride, const int32_t* ids, const float* weights,
                        const uint8_t* dropped, int T, int k, const bf16* act, int I, int hidden, float* h) {
  wait_for_prior_kernels();
  const int r = blockIdx.x * kWarps + threadIdx.x / 32;
  if (r >= hidden) return;
  for (int t = 0; t < T; ++t) {
    float total = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int a = t * k + j;
      if (dropped && dropped[a]) continue;
      float acc[1] = {};
      row_dot<1>(W + static_cast<int64_t>(ids[a]) * expert_stride + static_cast<int64_t>(r) * I, I,
                 act + static_cast<int64_t>(a) * I, I, acc);
      total = fmaf(weights[a], warp_sum(acc[0]), total);
    }
    if (threadIdx.x % 32 == 0) h[static_cast<int64_t>(t) * hidden + r] += total;
  }
}

int blocks_for(int rows) { return (rows + kWarps - 1) / kWarps; }

}  // namespace

void launch_gemv(const bf16* W, int rows, int cols, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo,
                 GemvOut mode, cudaStream_t stream) {
  const int blocks = blocks_for(rows);
  switch (T) {
    case 1:
      launch_kernel(gemv_kernel<1>, dim3(blocks), dim3(kThreads), 0, stream, W, rows, cols, x, ldx, out, ldo,
                    mode);
      break;
    case 2:
      launch_kernel(gemv_kernel<2>, dim3(blocks), dim3(kThreads), 0, stream, W, rows, cols, x, ldx, out, ldo,
                    mode);
      break;
    case 3:
      launch_kernel(gemv_kernel<3>, dim3(blocks), dim3(kThreads), 0, stream, W, rows, cols, x, ldx, out, ldo,
                    mode);
      break;
    case 4:
      launch_kernel(gemv_kernel<4>, dim3(blocks), dim3(kThreads), 0, stream, W, rows, cols, x, ldx, out, ldo,
                    mode);
      break;
    default:
      throw ResourceError("CUDA engine: GEMV path takes at most 4 tokens");
  }
  CUDA_CHECK_LAUNCH();
}

void launch_swiglu_gemv(const bf16* W, int64_t expert_stride, const int32_t* ids, int T, int k, const bf16* x,
                        int64_t ldx, int I, int hidden, bf16* act, cudaStream_t stream) {
  launch_kernel(swiglu_gemv_kernel, dim3(blocks_for(I), T * k), dim3(kThreads), 0, stream, W, expert_stride,
                ids, k, x, ldx, I, hidden, act);
  CUDA_CHECK_LAUNCH();
}

void launch_down_combine_gemv(const bf16* W, int64_t expert_stride, const int32_t* ids, const float* weights,
                              const uint8_t* dropped, int T, int k, const bf16* act, int I, int hidden,
                              float* h, cudaStream_t stream) {
  launch_kernel(down_combine_kernel, dim3(blocks_for(hidden)), dim3(kThreads), 0, stream, W, expert_stride,
                ids, weights, dropped, T, k, act, I, hidden, h);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
