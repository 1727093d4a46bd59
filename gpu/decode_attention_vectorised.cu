// The split-K decode attention's partial pass of --fast-kernels: decode_partial_kernel's maths
// (attention.cu) with 16-byte loads of the cached keys and values. The plain kernel reads one bf16
// per lane per step, which for MLA's 576-wide latent keys and 512-wide values makes a 64-position
// chunk ~18 + 4x64 dependent loads per thread (~14 us a call on the H200, 27 calls per
// DeepSeek-V2-Lite step); here a warp takes a key row 8 columns per lane, and the value pass splits
// the chunk's positions between groups of threads that each own 8 adjacent columns, summed in
// shared memory at the end.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/decode_attention_common.cuh"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

constexpr int kThreads = 128;

// grid (n_splits, H, T), block kThreads; dynamic shared: q (dk) + scores (chunk) + the value
// groups' sums (kThreads / (dv/8), dv), fp32. dk % 8 == 0, dv % 8 == 0, dv / 8 <= kThreads, k/v
// rows 16-byte aligned (checked by the launcher).
__global__ void __launch_bounds__(kThreads) decode_partial_vec_kernel(DecodeAttention a) {
  wait_for_prior_kernels();
  extern __shared__ float smem[];
  const int split = blockIdx.x, h = blockIdx.y, t = blockIdx.z;
  const int len = *a.d_pos + t + 1;
  const int chunk = decode_chunk(a, len);
  const int begin = split * chunk;
  if (begin >= len) return;
  const int n = min(len, begin + chunk) - begin;
  float* qs = smem;
  float* sc = smem + a.dk;
  float* sums = sc + a.chunk;
  const bf16* q = a.q + t * a.q_stride_t + static_cast<int64_t>(h) * a.dk;
  for (int i = threadIdx.x; i < a.dk; i += blockDim.x) qs[i] = __bfloat162float(q[i]);
  __syncthreads();
  const int g = h / a.group;
  const bf16* kb = a.k + g * a.k_stride_head;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
  const int dk8 = a.dk / 8;
  for (int j = warp; j < n; j += n_warps) {
    const uint4* kr = reinterpret_cast<const uint4*>(kb + static_cast<int64_t>(begin + j) * a.k_stride_pos);
    float s = 0.0f;
    for (int c = lane; c < dk8; c += 32) {
      float f[8];
      unpack8(kr[c], f);
#pragma unroll
      for (int i = 0; i < 8; ++i) s = fmaf(qs[8 * c + i], f[i], s);
    }
    s = warp_sum(s);
    if (lane == 0) sc[j] = s * a.scale;
  }
  __syncthreads();
  const float2 ml = decode_chunk_softmax(sc, n);
  const bf16* vb = a.v + g * a.v_stride_head;
  const int dv8 = a.dv / 8, groups = blockDim.x / dv8;
  const int group = threadIdx.x / dv8, c8 = threadIdx.x % dv8;
  if (group < groups) {
    float acc[8] = {};
    for (int j = group; j < n; j += groups) {
      float f[8];
      unpack8(reinterpret_cast<const uint4*>(vb + static_cast<int64_t>(begin + j) * a.v_stride_pos)[c8], f);
      const float p = sc[j];
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] = fmaf(p, f[i], acc[i]);
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) sums[group * a.dv + 8 * c8 + i] = acc[i];
  }
  __syncthreads();
  const int64_t part = (static_cast<int64_t>(t) * a.heads + h) * a.n_splits + split;
  for (int c = threadIdx.x; c < a.dv; c += blockDim.x) {
    float o = 0.0f;
    for (int gi = 0; gi < groups; ++gi) o += sums[gi * a.dv + c];
    a.part_o[part * a.dv + c] = o;
  }
  if (threadIdx.x == 0) {
    a.part_ml[part * 2] = ml.x;
    a.part_ml[part * 2 + 1] = ml.y;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool launch_decode_partial_vectorised(const DecodeAttention& a, cudaStream_t stream) {
  const bool fits = a.dk % 8 == 0 && a.dv % 8 == 0 && a.dv / 8 <= kThreads && a.k_stride_pos % 8 == 0 &&
                    a.k_stride_head % 8 == 0 && a.v_stride_pos % 8 == 0 && a.v_stride_head % 8 == 0 &&
                    aligned16(a.k) && aligned16(a.v);
  if (!fits) return false;
  const int groups = kThreads / (a.dv / 8);
  const size_t smem = static_cast<size_t>(a.dk + a.chunk + groups * a.dv) * sizeof(float);
  if (smem > 48 * 1024) return false;
  launch_kernel(decode_partial_vec_kernel, dim3(a.n_splits, a.heads, a.T), dim3(kThreads), smem, stream, a);
  CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace moescope::gpu
