// Router logits of --fast-kernels for decode steps: logits (T, E) = W (xb + xlo) in one pass. The
// plain path runs two GEMVs (xb, then xlo added), each with one warp per expert row: with 8 or 64
// experts that is one or eight blocks streaming a whole row per warp, about 5 us a launch of latency
// for 64 KB-1 MB. Here a block owns one expert row, its threads split the columns with 16-byte loads,
// and each weight is applied to both halves of the input as it arrives.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"
#include "gpu/route_token.cuh"

namespace moescope::gpu {
namespace {

constexpr int kThreads = 128;

// grid (E), block kThreads; hidden % 8 == 0.
template <int T>
__global__ void __launch_bounds__(kThreads)
    router_gemv_kernel(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                       float* logits) {
  wait_for_prior_kernels();
  const int e = blockIdx.x;
  const uint4* w = reinterpret_cast<const uint4*>(W + static_cast<int64_t>(e) * hidden);
  const int n = hidden / 8;
  float acc[T] = {};
  for (int c = threadIdx.x; c < n; c += kThreads) {
    const uint4 wv = load_stream(w + c);
#pragma unroll
    for (int t = 0; t < T; ++t) {
      acc[t] += dot8(wv, reinterpret_cast<const uint4*>(xb + t * ldx)[c]);
      acc[t] += dot8(wv, reinterpret_cast<const uint4*>(xlo + t * ldx)[c]);
    }
  }
#pragma unroll
  for (int t = 0; t < T; ++t) {
    const float total = block_sum(acc[t]);
    if (threadIdx.x == 0) logits[static_cast<int64_t>(t) * E + e] = total;
  }
}

// --fused-routing: router_gemv_kernel's logits, then the last block to finish routes every token of
// the step (the route kernel's launch and its gap saved). Dynamic shared: 2E floats for the routing.
template <int T>
__global__ void __launch_bounds__(kThreads)
    router_route_kernel(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                        float* logits, RouteParams p, unsigned* blocks_done) {
  wait_for_prior_kernels();
  extern __shared__ float route_smem[];
  __shared__ bool last_block;
  const int e = blockIdx.x;
  const uint4* w = reinterpret_cast<const uint4*>(W + static_cast<int64_t>(e) * hidden);
  const int n = hidden / 8;
  float acc[T] = {};
  for (int c = threadIdx.x; c < n; c += kThreads) {
    const uint4 wv = load_stream(w + c);
#pragma unroll
    for (int t = 0; t < T; ++t) {
      acc[t] += dot8(wv, reinterpret_cast<const uint4*>(xb + t * ldx)[c]);
      acc[t] += dot8(wv, reinterpret_cast<const uint4*>(xlo + t * ldx)[c]);
    }
  }
#pragma unroll
  for (int t = 0; t < T; ++t) {
    const float total = block_sum(acc[t]);
    if (threadIdx.x == 0) logits[static_cast<int64_t>(t) * E + e] = total;
  }
  // Publish this block's logits, then count it; the block that counts last sees every logit.
  __threadfence();
  if (threadIdx.x == 0) last_block = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  if (threadIdx.x == 0) *blocks_done = 0;  // ready for the next MoE layer's launch
  if (p.warp_topk) {
    if (threadIdx.x < 32)
      for (int t = 0; t < T; ++t) routing_device::route_token_warp(p, t);
  } else {
    for (int t = 0; t < T; ++t) routing_device::route_token(p, t, route_smem);
  }
}

template <int T>
void router_route(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                  float* logits, const RouteParams& p, unsigned* blocks_done, cudaStream_t stream) {
  const size_t smem = static_cast<size_t>(2 * p.E) * sizeof(float);
  launch_kernel(router_route_kernel<T>, dim3(E), dim3(kThreads), smem, stream, W, E, hidden, xb, xlo, ldx,
                logits, p, blocks_done);
}

}  // namespace

void launch_router_route(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                         float* logits, RouteParams p, unsigned* blocks_done, cudaStream_t stream) {
  if (p.k > 64 || p.n_group > 64)
    throw ResourceError("CUDA engine: top_k and n_group above 64 are not supported");
  if (p.E != E) throw ResourceError("CUDA engine: fused router given two expert counts");
  p.logits = logits;
  p.warp_topk = p.warp_topk && routing_device::warp_route_fits(p);
  switch (p.T) {
    case 1:
      router_route<1>(W, E, hidden, xb, xlo, ldx, logits, p, blocks_done, stream);
      break;
    case 2:
      router_route<2>(W, E, hidden, xb, xlo, ldx, logits, p, blocks_done, stream);
      break;
    case 3:
      router_route<3>(W, E, hidden, xb, xlo, ldx, logits, p, blocks_done, stream);
      break;
    case 4:
      router_route<4>(W, E, hidden, xb, xlo, ldx, logits, p, blocks_done, stream);
      break;
    default:
      throw ResourceError("CUDA engine: the fused router takes at most 4 tokens");
  }
  CUDA_CHECK_LAUNCH();
}

void launch_router_gemv(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx, int T,
                        float* logits, cudaStream_t stream) {
  switch (T) {
    case 1:
      launch_kernel(router_gemv_kernel<1>, dim3(E), dim3(kThreads), 0, stream, W, E, hidden, xb, xlo, ldx,
                    logits);
      break;
    case 2:
      launch_kernel(router_gemv_kernel<2>, dim3(E), dim3(kThreads), 0, stream, W, E, hidden, xb, xlo, ldx,
                    logits);
      break;
    case 3:
      launch_kernel(router_gemv_kernel<3>, dim3(E), dim3(kThreads), 0, stream, W, E, hidden, xb, xlo, ldx,
                    logits);
      break;
    case 4:
      launch_kernel(router_gemv_kernel<4>, dim3(E), dim3(kThreads), 0, stream, W, E, hidden, xb, xlo, ldx,
                    logits);
      break;
    default:
      throw ResourceError("CUDA engine: the router GEMV takes at most 4 tokens");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
