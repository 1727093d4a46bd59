// Router scoring and top-k on the GPU, token dispatch (stable sort of assignments by expert, with
// optional capacity), the fused SwiGLU of the expert GEMM outputs, and the weighted combine.
#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"
#include "gpu/route_token.cuh"

namespace moescope::gpu {
namespace {

// One block per token; dynamic shared: scores (E), choice (E). --warp-topk: one warp a token, no
// shared memory.
__global__ void route_kernel(RouteParams p) {
  wait_for_prior_kernels();
  extern __shared__ float smem[];
  if (p.warp_topk) {
    routing_device::route_token_warp(p, blockIdx.x);
  } else {
    routing_device::route_token(p, blockIdx.x, smem);
  }
}

// grid E: block e ranks the assignments of expert e in token order with a block-wide scan.
__global__ void dispatch_rank_kernel(const int32_t* ids, int A, int capacity, int32_t* rank, int32_t* counts,
                                     uint8_t* dropped) {
  __shared__ int warp_total[32];
  const int e = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
  int base = 0;
  for (int start = 0; start < A; start += blockDim.x) {
    const int a = start + threadIdx.x;
    const bool mine = a < A && ids[a] == e;
    const unsigned ballot = __ballot_sync(0xffffffffu, mine);
    const int in_warp = __popc(ballot & ((1u << lane) - 1u));
    if (lane == 0) warp_total[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int w = 0; w < n_warps; ++w) {
      if (w < warp) before += warp_total[w];
      total += warp_total[w];
    }
    if (mine) {
      const int r = base + before + in_warp;
      rank[a] = r;
      dropped[a] = capacity > 0 && r >= capacity;
    }
    base += total;
    __syncthreads();
  }
  if (threadIdx.x == 0) counts[e] = capacity > 0 ? min(base, capacity) : base;
}

__global__ void offsets_kernel(const int32_t* counts, int E, int32_t* offsets) {
  if (threadIdx.x != 0) return;
  int sum = 0;
  for (int e = 0; e < E; ++e) {
    offsets[e] = sum;
    sum += counts[e];
  }
  offsets[E] = sum;
}

// grid A
__global__ void gather_kernel(const int32_t* ids, const int32_t* rank, const uint8_t* dropped,
                              const int32_t* offsets, int k, int pad, const bf16* x, int hidden, bf16* xs,
                              int32_t* slot_of) {
  const int a = blockIdx.x;
  if (dropped[a]) {
    if (threadIdx.x == 0) slot_of[a] = -1;
    return;
  }
  const int slot = (pad > 0 ? ids[a] * pad : offsets[ids[a]]) + rank[a];
  if (threadIdx.x == 0) slot_of[a] = slot;
  const uint4* src = reinterpret_cast<const uint4*>(x + static_cast<int64_t>(a / k) * hidden);
  uint4* dst = reinterpret_cast<uint4*>(xs + static_cast<int64_t>(slot) * hidden);
  for (int i = threadIdx.x; i < hidden / 8; i += blockDim.x) dst[i] = src[i];
}

__global__ void swiglu_kernel(const bf16* gu, int64_t N, int I, bf16* act) {
  const int64_t total = N * I;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / I, c = i % I;
    const float g = __bfloat162float(gu[n * 2 * I + c]);
    const float u = __bfloat162float(gu[n * 2 * I + I + c]);
    act[i] = __float2bfloat16(silu(g) * u);
  }
}

// grid T
__global__ void combine_kernel(const bf16* y, const int32_t* slot_of, const float* weights, int k, int hidden,
                               float* h) {
  const int t = blockIdx.x;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int slot = slot_of[t * k + j];
      if (slot >= 0)
        acc = fmaf(weights[t * k + j], __bfloat162float(y[static_cast<int64_t>(slot) * hidden + c]), acc);
    }
    h[static_cast<int64_t>(t) * hidden + c] += acc;
  }
}

}  // namespace

void launch_route(const RouteParams& params, cudaStream_t stream) {
  RouteParams p = params;
  if (p.k > 64 || p.n_group > 64)
    throw ResourceError("CUDA engine: top_k and n_group above 64 are not supported");
  if (p.threads < 32 || p.threads > 1024 || p.threads % 32 != 0)
    throw ResourceError("CUDA engine: route kernel block of " + std::to_string(p.threads) + " threads");
  p.warp_topk = p.warp_topk && routing_device::warp_route_fits(p);
  const size_t smem = p.warp_topk ? 0 : static_cast<size_t>(2 * p.E) * sizeof(float);
  launch_kernel(route_kernel, dim3(p.T), dim3(p.warp_topk ? 32 : p.threads), smem, stream, p);
  CUDA_CHECK_LAUNCH();
}

void launch_dispatch_ranks(const int32_t* ids, int A, int E, int capacity, int32_t* rank, int32_t* counts,
                           uint8_t* dropped, int32_t* offsets, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(dropped, 0, static_cast<size_t>(A), stream));
  dispatch_rank_kernel<<<E, 256, 0, stream>>>(ids, A, capacity, rank, counts, dropped);
  CUDA_CHECK_LAUNCH();
  offsets_kernel<<<1, 32, 0, stream>>>(counts, E, offsets);
  CUDA_CHECK_LAUNCH();
}

void launch_gather(const int32_t* ids, const int32_t* rank, const uint8_t* dropped, const int32_t* offsets,
                   int A, int k, int pad, const bf16* x, int hidden, bf16* xs, int32_t* slot_of,
                   cudaStream_t stream) {
  gather_kernel<<<A, 128, 0, stream>>>(ids, rank, dropped, offsets, k, pad, x, hidden, xs, slot_of);
  CUDA_CHECK_LAUNCH();
}

void launch_swiglu(const bf16* gu, int64_t N, int I, bf16* act, cudaStream_t stream) {
  const int64_t total = N * I;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 65536));
  swiglu_kernel<<<blocks, 256, 0, stream>>>(gu, N, I, act);
  CUDA_CHECK_LAUNCH();
}

void launch_combine(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k, int hidden,
                    float* h, cudaStream_t stream) {
  combine_kernel<<<T, 256, 0, stream>>>(y, slot_of, weights, k, hidden, h);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
