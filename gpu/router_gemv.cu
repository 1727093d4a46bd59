// Router logits of --fast-kernels for decode steps: logits (T, E) = W (xb + xlo) in one pass. The
// plain path runs two GEMVs (xb, then xlo added), each with one warp per expert row: with 8 or 64
// experts that is one or eight blocks streaming a whole row per warp, about 5 us a launch of latency
// for 64 KB-1 MB. Here a block owns one expert row, its threads split the columns with 16-byte loads,
// and each weight is applied to both halves of the input as it arrives.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

constexpr int kThreads = 128;

// grid (E), block kThreads; hidden % 8 == 0.
template <int T>
__global__ void __launch_bounds__(kThreads)
    router_gemv_kernel(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                       float* logits) {
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

}  // namespace

void launch_router_gemv(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx, int T,
                        float* logits, cudaStream_t stream) {
  switch (T) {
    case 1:
      router_gemv_kernel<1><<<E, kThreads, 0, stream>>>(W, E, hidden, xb, xlo, ldx, logits);
      break;
    case 2:
      router_gemv_kernel<2><<<E, kThreads, 0, stream>>>(W, E, hidden, xb, xlo, ldx, logits);
      break;
    case 3:
      router_gemv_kernel<3><<<E, kThreads, 0, stream>>>(W, E, hidden, xb, xlo, ldx, logits);
      break;
    case 4:
      router_gemv_kernel<4><<<E, kThreads, 0, stream>>>(W, E, hidden, xb, xlo, ldx, logits);
      break;
    default:
      throw ResourceError("CUDA engine: the router GEMV takes at most 4 tokens");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
