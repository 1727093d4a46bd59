// What the two partial passes of split-K decode attention share (the plain one in attention.cu,
// the 16-byte one in decode_attention_vectorised.cu) and the merge reads: the positions a split
// covers, and the softmax of a split's scores.
#pragma once

#include <cfloat>

#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"

namespace moescope::gpu {

// Positions per split when a token sees `len` keys. A fixed chunk (plan_device_memory's, sized for
// the longest context) leaves a short context in one or two splits per head, each a long chain of
// dependent loads; --context-splits spreads the keys seen over every split, at least 16 each.
__device__ __forceinline__ int decode_chunk(const DecodeAttention& a, int len) {
  if (!a.context_splits) return a.chunk;
  const int even = (len + a.n_splits - 1) / a.n_splits;
  return min(a.chunk, max(16, (even + 15) / 16 * 16));  // n_splits * chunk >= every len
}

// sc[0..n) scores -> exp(sc - m) in place; returns (m, l = the sum). Every thread of the block calls
// it; its last barrier publishes sc.
__device__ __forceinline__ float2 decode_chunk_softmax(float* sc, int n) {
  float m = -FLT_MAX;
  for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, sc[j]);
  m = block_max(m);
  float l = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    const float p = __expf(sc[j] - m);
    sc[j] = p;
    l += p;
  }
  return make_float2(m, block_sum(l));
}

}  // namespace moescope::gpu
