// One token's routing by one block: softmax or sigmoid scores, the optional bias, group-limited
// top-k (group_limited_greedy, noaux_tc), renormalisation and scaling, as core/routing.cpp does.
// Shared by the route kernel (gpu/routing.cu) and the fused router of --fused-routing
// (gpu/router_gemv.cu).
#pragma once

#include <cfloat>
#include <cstdint>

#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"

namespace moescope::gpu::routing_device {

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

__device__ inline Best block_argmax(Best v) {
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

// Routes token t with the whole block (every thread must call it). `smem` holds 2E floats: scores
// (E), choice (E). Logits are read past L1 (__ldcg): under --fused-routing other blocks of the same
// kernel wrote them.
__device__ inline void route_token(const RouteParams& p, int t, float* smem) {
  float* score = smem;
  float* choice = smem + p.E;
  __shared__ int32_t chosen[64];
  const float* logits = p.logits + static_cast<int64_t>(t) * p.E;

  if (p.sigmoid) {
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) score[e] = 1.0f / (1.0f + expf(-__ldcg(logits + e)));
  } else {
    float m = -FLT_MAX;
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) m = fmaxf(m, __ldcg(logits + e));
    m = block_max(m);
    float l = 0.0f;
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) l += expf(__ldcg(logits + e) - m);
    l = block_sum(l);
    for (int e = threadIdx.x; e < p.E; e += blockDim.x) score[e] = expf(__ldcg(logits + e) - m) / l;
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
  __syncthreads();  // the next token's call reuses score, choice and chosen
}

// --warp-topk: route_token's rule by one warp, with no shared memory and no block barrier. Lane l
// holds experts l, l + 32, ... (at most kWarpRouteSlots each) in registers; the group scores are
// warp-merged top-2s, and each of the topk_group and k rounds is one shuffle argmax, where the block
// version takes a serial pass over every expert on one thread (groups) and 3-4 barriers a round.
// The same ties as route_token (larger value, then lower id), the same summation orders as its
// 32-thread form, so ids and weights equal that form's bit for bit.
constexpr int kWarpRouteSlots = 8;

__host__ __device__ inline bool warp_route_fits(const RouteParams& p) {
  const bool grouped = p.method != 0 && p.n_group > 1;
  return p.E > 0 && p.E <= 32 * kWarpRouteSlots && p.k > 0 && p.k <= 32 && p.k <= p.E &&
         (!grouped || (p.n_group <= 32 && p.E % p.n_group == 0 && p.topk_group <= p.n_group));
}

__device__ __forceinline__ Best warp_argmax(Best v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, v.value, o), __shfl_xor_sync(0xffffffffu, v.index, o)};
    v = better(v, other);
  }
  return v;
}

// Routes token t with one whole warp (all 32 lanes call it); warp_route_fits(p) must hold.
__device__ inline void route_token_warp(const RouteParams& p, int t) {
  constexpr int S = kWarpRouteSlots;
  const int lane = threadIdx.x % 32;
  const float* logits = p.logits + static_cast<int64_t>(t) * p.E;
  float score[S], choice[S];
#pragma unroll
  for (int i = 0; i < S; ++i) score[i] = i * 32 + lane < p.E ? __ldcg(logits + i * 32 + lane) : 0.0f;
  if (p.sigmoid) {
#pragma unroll
    for (int i = 0; i < S; ++i) score[i] = 1.0f / (1.0f + expf(-score[i]));
  } else {
    float m = -FLT_MAX;
#pragma unroll
    for (int i = 0; i < S; ++i)
      if (i * 32 + lane < p.E) m = fmaxf(m, score[i]);
    m = warp_max(m);
    float l = 0.0f;
#pragma unroll
    for (int i = 0; i < S; ++i)
      if (i * 32 + lane < p.E) l += expf(score[i] - m);
    l = warp_sum(l);
#pragma unroll
    for (int i = 0; i < S; ++i) score[i] = expf(score[i] - m) / l;
  }
#pragma unroll
  for (int i = 0; i < S; ++i) {
    const int e = i * 32 + lane;
    choice[i] = score[i] + (p.bias && e < p.E ? p.bias[e] : 0.0f);
    if (e < p.E) p.scores[static_cast<int64_t>(t) * p.E + e] = score[i];
  }

  if (p.method != 0 && p.n_group > 1) {
    // Group g's score (its best, or the sum of its two best for noaux_tc) ends in lane g.
    const int per = p.E / p.n_group;
    float group_score = -FLT_MAX;
    for (int g = 0; g < p.n_group; ++g) {
      float a = -FLT_MAX, b = -FLT_MAX;
#pragma unroll
      for (int i = 0; i < S; ++i) {
        const int e = i * 32 + lane;
        if (e >= p.E || e / per != g) continue;
        if (choice[i] > a) {
          b = a;
          a = choice[i];
        } else if (choice[i] > b) {
          b = choice[i];
        }
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const float oa = __shfl_xor_sync(0xffffffffu, a, o), ob = __shfl_xor_sync(0xffffffffu, b, o);
        b = fmaxf(fminf(a, oa), fmaxf(b, ob));
        a = fmaxf(a, oa);
      }
      if (lane == g) group_score = p.method == 2 && per >= 2 ? a + b : a;
    }
    uint32_t keep = 0;
    for (int r = 0; r < p.topk_group; ++r) {
      const bool candidate = lane < p.n_group && !((keep >> lane) & 1u);
      keep |= 1u << warp_argmax(candidate ? Best{group_score, lane} : Best{-FLT_MAX, -1}).index;
    }
    // The reference masks the other groups' experts to 0.0 (not -inf) before the top-k.
#pragma unroll
    for (int i = 0; i < S; ++i) {
      const int e = i * 32 + lane;
      if (e < p.E && !((keep >> (e / per)) & 1u)) choice[i] = 0.0f;
    }
  }

  int my_id = -1;
  float my_score = 0.0f, sum = 0.0f;
  for (int r = 0; r < p.k; ++r) {
    Best mine{-FLT_MAX, -1};
#pragma unroll
    for (int i = 0; i < S; ++i)
      if (i * 32 + lane < p.E) mine = better(mine, Best{choice[i], i * 32 + lane});
    const Best b = warp_argmax(mine);
    const int owner = b.index % 32, slot = b.index / 32;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < S; ++i) {
      if (lane == owner && i == slot) {
        s = score[i];
        choice[i] = -INFINITY;
      }
    }
    s = __shfl_sync(0xffffffffu, s, owner);
    sum += s;  // in round order, as route_token's thread 0 sums
    if (lane == r) {
      my_id = b.index;
      my_score = s;
    }
  }
  if (lane < p.k) {
    const float norm = p.norm_topk ? 1.0f / (sum + 1e-20f) : 1.0f;
    p.ids[static_cast<int64_t>(t) * p.k + lane] = my_id;
    p.weights[static_cast<int64_t>(t) * p.k + lane] = my_score * norm * p.scaling;
  }
}

}  // namespace moescope::gpu::routing_device
