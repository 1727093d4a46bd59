// Router scoring and top-k on the GPU, token dispatch (stable sort of assignments by expert, with
// optional capacity), the fused SwiGLU of the expert GEMM outputs, and the weighted combine.
#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

struct Best {
  float value;
  int index;
};

__device__ __forceinline__ Best better(Best a, Best b) {
  // Larger value wins; ties go to the lower expert id.
  if (b.index < 0) return a;
  if (a.index < 0) return b;
  if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
  return a;
}

__device__ Best block_argmax(Best v) {
  __shared__ Best partial[32];
  __shared__ Best total;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, v.value, o), __shfl_xor_sync(0xffffffffu, v.index, o)};
    v = better(v, other);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    Best s = lane < (blockDim.x + 31) / 32 ? partial[lane] : Best{-FLT_MAX, -1};
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      Best other{__shfl_xor_sync(0xffffffffu, s.value, o), __shfl_xor_sync(0xffffffffu, s.index, o)};
      s = better(s, other);
    }
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

// One block per token; dynamic shared: scores (E), choice (E), group keep flags (n_group).
__global__ void route_kernel(RouteParams p) {
  extern __shared__ float smem[];
  float* score = smem;
  float* choice = smem + p.E;
  __shared__ int32_t chosen[64];
  const int t = blockIdx.x;
  const float* logits = p.logits + static_cast<int64_t>(t) * p.E;

  if (p.sigmoid) {
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) score[e] = 1.0f / (1.0f + expf(-logits[e]));
  } else {
    float m = -FLT_MAX;
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) m = fmaxf(m, logits[e]);
    m = block_max(m);
    float l = 0.0f;
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) l += expf(logits[e] - m);
    l = block_sum(l);
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) score[e] = expf(logits[e] - m) / l;
  }
  for (int e = threadIdx.x; e < p.E; e += blockDim.x) {
    choice[e] = score[e] + (p.bias ? p.bias[e] : 0.0f);
    p.scores[static_cast<int64_t>(t) * p.E + e] = score[e];
  }
  __syncthreads();

  if (p.method != 0 && p.n_group > 1) {
    // Group selection is tiny (n_group <= 64): one thread does it serially, as the reference does.
    if (threadIdx.x == 0) {
      const int per = p.E / p.n_group;
      float group_score[64];
      bool keep[64];
      for (int g = 0; g < p.n_group; ++g) {
        const float* c = choice + g * per;
        if (p.method == 2) {  // noaux_tc: sum of the two best bias-corrected scores
          float a = -FLT_MAX, b = -FLT_MAX;
          for (int i = 0; i < per; ++i) {
            if (c[i] > a) {
              b = a;
              a = c[i];
            } else if (c[i] > b) {
              b = c[i];
            }
          }
          group_score[g] = per >= 2 ? a + b : a;
        } else {  // group_limited_greedy: the group's best score
          float a = -FLT_MAX;
          for (int i = 0; i < per; ++i) a = fmaxf(a, c[i]);
          group_score[g] = a;
        }
        keep[g] = false;
      }
      for (int r = 0; r < p.topk_group; ++r) {
        int best = -1;
        for (int g = 0; g < p.n_group; ++g)
          if (!keep[g] && (best < 0 || group_score[g] > group_score[best])) best = g;
        keep[best] = true;
      }
      // The reference masks the other groups' experts to 0.0 (not -inf) before the top-k.
      for (int g = 0; g < p.n_group; ++g)
        if (!keep[g])
          for (int i = 0; i < per; ++i) choice[g * per + i] = 0.0f;
    }
    __syncthreads();
  }

  for (int r = 0; r < p.k; ++r) {
    Best mine{-FLT_MAX, -1};
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) mine = better(mine, Best{choice[e], e});
    Best b = block_argmax(mine);
    if (threadIdx.x == 0) {
      chosen[r] = b.index;
      choice[b.index] = -INFINITY;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (int r = 0; r < p.k; ++r) sum += score[chosen[r]];
    const float norm = p.norm_topk ? 1.0f / (sum + 1e-20f) : 1.0f;
    for (int r = 0; r < p.k; ++r) {
      p.ids[static_cast<int64_t>(t) * p.k + r] = chosen[r];
      p.weights[static_cast<int64_t>(t) * p.k + r] = score[chosen[r]] * norm * p.scaling;
    }
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
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
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
      if (slot >= 0) acc = fmaf(weights[t * k + j], __bfloat162float(y[static_cast<int64_t>(slot) * hidden + c]), acc);
    }
    h[static_cast<int64_t>(t) * hidden + c] += acc;
  }
}

}  // namespace

void launch_route(const RouteParams& p, cudaStream_t stream) {
  if (p.k > 64 || p.n_group > 64) throw ResourceError("CUDA engine: top_k and n_group above 64 are not supported");
  const size_t smem = static_cast<size_t>(2 * p.E) * sizeof(float);
  if (p.threads < 32 || p.threads > 1024 || p.threads % 32 != 0)
    throw ResourceError("CUDA engine: route kernel block of " + std::to_string(p.threads) + " threads");
  route_kernel<<<p.T, p.threads, smem, stream>>>(p);
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

void launch_gather(const int32_t* ids, const int32_t* rank, const uint8_t* dropped, const int32_t* offsets, int A,
                   int k, int pad, const bf16* x, int hidden, bf16* xs, int32_t* slot_of, cudaStream_t stream) {
  gather_kernel<<<A, 128, 0, stream>>>(ids, rank, dropped, offsets, k, pad, x, hidden, xs, slot_of);
  CUDA_CHECK_LAUNCH();
}

void launch_swiglu(const bf16* gu, int64_t N, int I, bf16* act, cudaStream_t stream) {
  const int64_t total = N * I;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 65536));
  swiglu_kernel<<<blocks, 256, 0, stream>>>(gu, N, I, act);
  CUDA_CHECK_LAUNCH();
}

void launch_combine(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k, int hidden, float* h,
                    cudaStream_t stream) {
  combine_kernel<<<T, 256, 0, stream>>>(y, slot_of, weights, k, hidden, h);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
