// RMSNorm of --fast-kernels: one block per row, every thread holding its slice of the row in
// registers from one round of 16-byte loads, so a decode step's 4096-wide norm costs one trip to
// memory and one block reduction instead of two strided passes (the plain kernel took ~10 us a
// call on the H200, 17 calls per Mixtral-8L step). Same maths as rmsnorm_kernel in norm_rope.cu.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxQuads = 8;  // float4 per thread: rows up to 8 * 4 * 256 = 8192 wide

__device__ __forceinline__ void store4(bf16* p, float a, float b, float c, float d) {
  __nv_bfloat162 lo = __floats2bfloat162_rn(a, b), hi = __floats2bfloat162_rn(c, d);
  uint2 packed;
  packed.x = *reinterpret_cast<uint32_t*>(&lo);
  packed.y = *reinterpret_cast<uint32_t*>(&hi);
  *reinterpret_cast<uint2*>(p) = packed;
}

// grid (rows), block kThreads; n % 4 == 0, n <= kMaxQuads * 4 * kThreads, x/w 16-byte and out/lo
// 8-byte aligned rows (checked by the launcher).
__global__ void __launch_bounds__(kThreads)
    rmsnorm_vec_kernel(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out, int64_t ldo,
                       const int* row_offset, bf16* out_lo) {
  wait_for_prior_kernels();
  const int r = blockIdx.x;
  const float4* xr = reinterpret_cast<const float4*>(x + r * ldx);
  const int quads = n / 4;
  float4 v[kMaxQuads];
  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < kMaxQuads; ++i) {
    const int q = threadIdx.x + i * kThreads;
    v[i] = q < quads ? xr[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    ss += v[i].x * v[i].x + v[i].y * v[i].y + v[i].z * v[i].z + v[i].w * v[i].w;
  }
  ss = block_sum(ss);
  const float inv = rsqrtf(ss / n + eps);
  const int64_t out_row = r + (row_offset ? *row_offset : 0);
  bf16* o = out + out_row * ldo;
  bf16* lo = out_lo ? out_lo + static_cast<int64_t>(r) * n : nullptr;
  const float4* w4 = reinterpret_cast<const float4*>(w);
#pragma unroll
  for (int i = 0; i < kMaxQuads; ++i) {
    const int q = threadIdx.x + i * kThreads;
    if (q >= quads) break;
    const float4 g = w4[q];
    const float a = v[i].x * inv * g.x, b = v[i].y * inv * g.y, c = v[i].z * inv * g.z,
                d = v[i].w * inv * g.w;
    store4(o + 4 * q, a, b, c, d);
    if (lo) {
      const bf16 ha = __float2bfloat16(a), hb = __float2bfloat16(b), hc = __float2bfloat16(c),
                 hd = __float2bfloat16(d);
      store4(lo + 4 * q, a - __bfloat162float(ha), b - __bfloat162float(hb), c - __bfloat162float(hc),
             d - __bfloat162float(hd));
    }
  }
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace

bool launch_rmsnorm_vectorised(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out,
                               int64_t ldo, int rows, const int* row_offset, cudaStream_t stream,
                               bf16* out_lo) {
  const bool fits = n % 4 == 0 && n <= kMaxQuads * 4 * kThreads && ldx % 4 == 0 && ldo % 4 == 0 &&
                    aligned(x, 16) && aligned(w, 16) && aligned(out, 8) && (!out_lo || aligned(out_lo, 8));
  if (!fits) return false;
  launch_kernel(rmsnorm_vec_kernel, dim3(rows), dim3(kThreads), 0, stream, x, ldx, w, n, eps, out, ldo,
                row_offset, out_lo);
  CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace moescope::gpu
