// Attention kernels: the causal softmax between the two cuBLAS products of prefill, and split-K
// decode attention over the KV cache (GQA and absorbed MLA alike: MLA is one shared "kv head" whose
// key is [latent | k_pe] and whose value is the latent).
#include "gpu/cuda_check.h"
#include "gpu/decode_attention_common.cuh"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

__global__ void causal_softmax_kernel(const float* S, bf16* P, int T, int Lk, int p0) {
  const int64_t row = blockIdx.x;  // head * T + t
  const int t = static_cast<int>(row % T);
  const int valid = min(Lk, p0 + t + 1);
  const float* s = S + row * Lk;
  bf16* p = P + row * Lk;
  float m = -FLT_MAX;
  for (int j = threadIdx.x; j < valid; j += blockDim.x) m = fmaxf(m, s[j]);
  m = block_max(m);
  float l = 0.0f;
  for (int j = threadIdx.x; j < valid; j += blockDim.x) l += __expf(s[j] - m);
  l = block_sum(l);
  const float inv = 1.0f / l;
  for (int j = threadIdx.x; j < Lk; j += blockDim.x)
    p[j] = __float2bfloat16(j < valid ? __expf(s[j] - m) * inv : 0.0f);
}

// grid (n_splits, H, T); dynamic shared: q (dk) + scores (chunk) floats.
__global__ void decode_partial_kernel(DecodeAttention a) {
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
  const bf16* q = a.q + t * a.q_stride_t + static_cast<int64_t>(h) * a.dk;
  for (int i = threadIdx.x; i < a.dk; i += blockDim.x) qs[i] = __bfloat162float(q[i]);
  __syncthreads();
  const int g = h / a.group;
  const bf16* kb = a.k + g * a.k_stride_head;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
  for (int j = warp; j < n; j += n_warps) {
    const bf16* kr = kb + static_cast<int64_t>(begin + j) * a.k_stride_pos;
    float s = 0.0f;
    for (int i = lane; i < a.dk; i += 32) s = fmaf(qs[i], __bfloat162float(kr[i]), s);
    s = warp_sum(s);
    if (lane == 0) sc[j] = s * a.scale;
  }
  __syncthreads();
  const float2 ml = decode_chunk_softmax(sc, n);
  const bf16* vb = a.v + g * a.v_stride_head;
  const int64_t part = (static_cast<int64_t>(t) * a.heads + h) * a.n_splits + split;
  for (int c = threadIdx.x; c < a.dv; c += blockDim.x) {
    float o = 0.0f;
    for (int j = 0; j < n; ++j)
      o = fmaf(sc[j], __bfloat162float(vb[static_cast<int64_t>(begin + j) * a.v_stride_pos + c]), o);
    a.part_o[part * a.dv + c] = o;
  }
  if (threadIdx.x == 0) {
    a.part_ml[part * 2] = ml.x;
    a.part_ml[part * 2 + 1] = ml.y;
  }
}

// grid (H, T)
__global__ void decode_merge_kernel(DecodeAttention a) {
  wait_for_prior_kernels();
  const int h = blockIdx.x, t = blockIdx.y;
  const int len = *a.d_pos + t + 1;
  const int chunk = decode_chunk(a, len);
  const int used = (len + chunk - 1) / chunk;
  const int64_t base = (static_cast<int64_t>(t) * a.heads + h) * a.n_splits;
  float m = -FLT_MAX;
  for (int s = 0; s < used; ++s) m = fmaxf(m, a.part_ml[(base + s) * 2]);
  float l = 0.0f;
  for (int s = 0; s < used; ++s) l += a.part_ml[(base + s) * 2 + 1] * __expf(a.part_ml[(base + s) * 2] - m);
  const float inv = 1.0f / l;
  bf16* out = a.out + t * a.out_stride_t + static_cast<int64_t>(h) * a.dv;
  for (int c = threadIdx.x; c < a.dv; c += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < used; ++s)
      o += a.part_o[(base + s) * a.dv + c] * __expf(a.part_ml[(base + s) * 2] - m);
    out[c] = __float2bfloat16(o * inv);
  }
}

// --fast-merge: grid (H, T); dynamic shared: one weight per split, padded to a multiple of 8 floats
// (the unrolled split loop reads the weights 16 bytes at a time). Each split's weight
// exp(m_s - m) / l is computed once by warp 0; decode_merge_kernel recomputes it per column and
// split, a chain of dependent L2 reads (9.6 us a call for V2-Lite's 16 heads over 9 splits on the
// H200; this form measured 5.4 us there, before the padding).
__global__ void decode_merge_once_kernel(DecodeAttention a) {
  wait_for_prior_kernels();
  extern __shared__ float split_weight[];
  const int h = blockIdx.x, t = blockIdx.y;
  const int len = *a.d_pos + t + 1;
  const int chunk = decode_chunk(a, len);
  const int used = (len + chunk - 1) / chunk;
  const int64_t base = (static_cast<int64_t>(t) * a.heads + h) * a.n_splits;
  if (threadIdx.x < 32) {
    float m = -FLT_MAX;
    for (int s = threadIdx.x; s < used; s += 32) m = fmaxf(m, a.part_ml[(base + s) * 2]);
    m = warp_max(m);
    float l = 0.0f;
    for (int s = threadIdx.x; s < used; s += 32) {
      const float w = __expf(a.part_ml[(base + s) * 2] - m);
      split_weight[s] = w;
      l += a.part_ml[(base + s) * 2 + 1] * w;
    }
    const float inv = 1.0f / warp_sum(l);
    for (int s = threadIdx.x; s < used; s += 32) split_weight[s] *= inv;  // each lane its own weights
  }
  __syncthreads();
  bf16* out = a.out + t * a.out_stride_t + static_cast<int64_t>(h) * a.dv;
  const float* part = a.part_o + base * a.dv;
  for (int c = threadIdx.x; c < a.dv; c += blockDim.x) {
    float o = 0.0f;
#pragma unroll 8
    for (int s = 0; s < used; ++s) o = fmaf(part[static_cast<int64_t>(s) * a.dv + c], split_weight[s], o);
    out[c] = __float2bfloat16(o);
  }
}

}  // namespace

void launch_causal_softmax(const float* S, bf16* P, int heads, int T, int Lk, int p0, cudaStream_t stream) {
  causal_softmax_kernel<<<heads * T, 256, 0, stream>>>(S, P, T, Lk, p0);
  CUDA_CHECK_LAUNCH();
}

void launch_decode_attention(const DecodeAttention& a, cudaStream_t stream) {
  if (!a.vectorised || !launch_decode_partial_vectorised(a, stream)) {
    const size_t smem = static_cast<size_t>(a.dk + a.chunk) * sizeof(float);
    launch_kernel(decode_partial_kernel, dim3(a.n_splits, a.heads, a.T), dim3(128), smem, stream, a);
    CUDA_CHECK_LAUNCH();
  }
  if (a.merge_weights_once) {
    const size_t padded_splits = (static_cast<size_t>(a.n_splits) + 7) / 8 * 8;
    launch_kernel(decode_merge_once_kernel, dim3(a.heads, a.T), dim3(256), padded_splits * sizeof(float),
                  stream, a);
  } else {
    launch_kernel(decode_merge_kernel, dim3(a.heads, a.T), dim3(128), 0, stream, a);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
