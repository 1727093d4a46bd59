// The --fused-experts decode FFN of a MoE layer (T <= kMaxDecodeTokens): the routed experts and the
// shared ones in one gate/up kernel and one down+combine kernel, instead of a gate/up and a down
// launch for each (4 -> 2 launches a layer). Chosen by bytes: the expert weights are ~85 % of what a
// DeepSeek-V2-Lite decode step reads, and the H200 ncu table of 2026-12-04 had the routed down+combine
// at 1.5 TB/s (22.6 us for 35 MB): one warp walked each output row's six 1408-wide expert rows one
// after another, ~5 loads a lane and a reduction each, with 16 warps per SM. Here the down pass
// splits one pair of output rows across a block's 8 warps over the concatenation of every expert
// row it sums (routed, then shared), so each lane has ~11 independent 16-byte loads in flight, and
// the warps' partial sums are added in a fixed order (no atomics: the same routing gives the same
// bits every run).
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

constexpr int kGateUpThreads = 128;
constexpr int kGateUpWarps = kGateUpThreads / 32;
constexpr int kDownThreads = 256;
constexpr int kDownWarps = kDownThreads / 32;
constexpr int kDownRows = 2;      // output rows a down block computes (each act load used twice)
constexpr int kMaxSegments = 17;  // top_k <= 16 routed rows + the shared experts' row

// Warp per output: task < T*k*I is routed assignment a = task / I, row j = task % I; after those,
// the shared experts' rows for each token. act holds the routed (T*k, I) then the shared (T, Is).
__global__ void __launch_bounds__(kGateUpThreads) fused_gate_up_kernel(FusedExperts f) {
  wait_for_prior_kernels();
  const int64_t task = static_cast<int64_t>(blockIdx.x) * kGateUpWarps + threadIdx.x / 32;
  const int64_t routed = static_cast<int64_t>(f.T) * f.k * f.I;
  const bf16* wg;
  const bf16* wu;
  int t;
  if (task < routed) {
    const int a = static_cast<int>(task / f.I), j = static_cast<int>(task % f.I);
    const bf16* We = f.gate_up + static_cast<int64_t>(f.ids[a]) * f.gate_up_stride;
    wg = We + static_cast<int64_t>(j) * f.hidden;
    wu = We + static_cast<int64_t>(f.I + j) * f.hidden;
    t = a / f.k;
  } else {
    const int64_t s = task - routed;
    if (s >= static_cast<int64_t>(f.T) * f.Is) return;
    const int j = static_cast<int>(s % f.Is);
    wg = f.shared_gate_up + static_cast<int64_t>(j) * f.hidden;
    wu = f.shared_gate_up + static_cast<int64_t>(f.Is + j) * f.hidden;
    t = static_cast<int>(s / f.Is);
  }
  const uint4* g4 = reinterpret_cast<const uint4*>(wg);
  const uint4* u4 = reinterpret_cast<const uint4*>(wu);
  const uint4* x4 = reinterpret_cast<const uint4*>(f.x + t * f.ldx);
  float g = 0.0f, u = 0.0f;
  const int n = f.hidden / 8;
#pragma unroll 4
  for (int c = threadIdx.x % 32; c < n; c += 32) {
    const uint4 gv = load_stream(g4 + c), uv = load_stream(u4 + c), xv = x4[c];
    g += dot8(gv, xv);
    u += dot8(uv, xv);
  }
  g = warp_sum(g);
  u = warp_sum(u);
  if (threadIdx.x % 32 == 0) f.act[task] = __float2bfloat16(silu(g) * u);
}

// grid (hidden / kDownRows, T) (hidden % 8 == 0). Segment s < k is token t's routed expert j = s (I wide,
// weighted by its routing weight; skipped when dropped), segment k the shared experts (Is wide,
// weight 1). Columns are counted in 16-byte units over the segments laid end to end.
__global__ void __launch_bounds__(kDownThreads) fused_down_kernel(FusedExperts f) {
  wait_for_prior_kernels();
  __shared__ const bf16* seg_w[kMaxSegments];    // the segment's weight matrix, row 0
  __shared__ const bf16* seg_act[kMaxSegments];  // its activation row
  __shared__ float seg_scale[kMaxSegments];
  __shared__ float partial[kDownWarps][kDownRows];
  const int t = blockIdx.y;
  const int r0 = blockIdx.x * kDownRows;
  const int n_seg = f.k + (f.Is > 0 ? 1 : 0);
  if (threadIdx.x < n_seg) {
    const int s = threadIdx.x;
    if (s < f.k) {
      const int a = t * f.k + s;
      const bool dropped = f.dropped && f.dropped[a];
      seg_w[s] = dropped ? nullptr : f.down + static_cast<int64_t>(f.ids[a]) * f.down_stride;
      seg_act[s] = f.act + static_cast<int64_t>(a) * f.I;
      seg_scale[s] = f.weights[a];
    } else {
      seg_w[s] = f.shared_down;
      seg_act[s] = f.act + static_cast<int64_t>(f.T) * f.k * f.I + static_cast<int64_t>(t) * f.Is;
      seg_scale[s] = 1.0f;
    }
  }
  __syncthreads();
  const int I8 = f.I / 8, Is8 = f.Is / 8;
  const int routed8 = f.k * I8, total8 = routed8 + Is8;
  const int per_warp = (total8 + kDownWarps - 1) / kDownWarps;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int begin = warp * per_warp, end = min(total8, begin + per_warp);
  float acc0 = 0.0f, acc1 = 0.0f;
#pragma unroll 4
  for (int c = begin + lane; c < end; c += 32) {
    const int s = c < routed8 ? c / I8 : f.k;
    const bf16* W = seg_w[s];
    if (W == nullptr) continue;  // a dropped assignment contributes nothing
    const int width = s < f.k ? f.I : f.Is;
    const int off = c - s * I8;  // 16-byte column inside the segment (s * I8 == routed8 for shared)
    const uint4 xv = reinterpret_cast<const uint4*>(seg_act[s])[off];
    const float scale = seg_scale[s];
    const uint4 w0 = load_stream(reinterpret_cast<const uint4*>(W + static_cast<int64_t>(r0) * width) + off);
    const uint4 w1 =
        load_stream(reinterpret_cast<const uint4*>(W + static_cast<int64_t>(r0 + 1) * width) + off);
    acc0 = fmaf(scale, dot8(w0, xv), acc0);
    acc1 = fmaf(scale, dot8(w1, xv), acc1);
  }
  acc0 = warp_sum(acc0);
  acc1 = warp_sum(acc1);
  if (lane == 0) {
    partial[warp][0] = acc0;
    partial[warp][1] = acc1;
  }
  __syncthreads();
  if (threadIdx.x < kDownRows) {
    float total = 0.0f;
    for (int w = 0; w < kDownWarps; ++w) total += partial[w][threadIdx.x];
    f.h[static_cast<int64_t>(t) * f.hidden + r0 + threadIdx.x] += total;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool fused_experts_fit(const FusedExperts& f) {
  const bool shared_ok =
      f.Is == 0 || (f.Is % 8 == 0 && aligned16(f.shared_gate_up) && aligned16(f.shared_down));
  return f.T >= 1 && f.T <= kMaxDecodeTokens && f.k >= 1 && f.k + 1 <= kMaxSegments && f.I > 0 &&
         f.I % 8 == 0 && f.hidden % 8 == 0 && f.ldx % 8 == 0 && shared_ok && aligned16(f.gate_up) &&
         aligned16(f.down) && aligned16(f.x) && aligned16(f.act) && f.gate_up_stride % 8 == 0 &&
         f.down_stride % 8 == 0;
}

bool launch_fused_experts(const FusedExperts& f, cudaStream_t stream) {
  if (!fused_experts_fit(f)) return false;
  const int64_t tasks = static_cast<int64_t>(f.T) * (static_cast<int64_t>(f.k) * f.I + f.Is);
  const int64_t gate_up_blocks = (tasks + kGateUpWarps - 1) / kGateUpWarps;
  launch_kernel(fused_gate_up_kernel, dim3(static_cast<unsigned>(gate_up_blocks)), dim3(kGateUpThreads), 0,
                stream, f);
  CUDA_CHECK_LAUNCH();
  const dim3 down_grid(f.hidden / kDownRows, f.T);
  launch_kernel(fused_down_kernel, down_grid, dim3(kDownThreads), 0, stream, f);
  CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace moescope::gpu
