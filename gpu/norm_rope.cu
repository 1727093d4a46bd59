// Embedding lookup, RMSNorm, and the attention input preparation (q/k norm, RoPE, cache writes).
#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

__global__ void embed_kernel(const int32_t* tokens, const bf16* embed, int hidden, float* h) {
  wait_for_prior_kernels();
  const int t = blockIdx.x;
  const bf16* row = embed + static_cast<int64_t>(tokens[t]) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    h[static_cast<int64_t>(t) * hidden + i] = __bfloat162float(row[i]);
}

__global__ void rmsnorm_kernel(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out,
                               int64_t ldo, const int* row_offset, bf16* out_lo) {
  wait_for_prior_kernels();
  const int r = blockIdx.x;
  const float* xr = x + r * ldx;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
  ss = block_sum(ss);
  const float inv = rsqrtf(ss / n + eps);
  const int64_t out_row = r + (row_offset ? *row_offset : 0);
  bf16* o = out + out_row * ldo;
  bf16* lo = out_lo ? out_lo + static_cast<int64_t>(r) * n : nullptr;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = xr[i] * inv * w[i];
    const bf16 hi = __float2bfloat16(v);
    o[i] = hi;
    if (lo) lo[i] = __float2bfloat16(v - __bfloat162float(hi));
  }
}

__device__ __forceinline__ void rope_cos_sin(RopeParams rope, int pos, int j, float* c, float* s) {
  // As the reference: angle in fp32 from fp32 inv_freq and the position, then cos/sin scaled.
  const float angle = static_cast<float>(pos) * rope.inv_freq[j];
  *c = cosf(angle) * rope.attention_factor;
  *s = sinf(angle) * rope.attention_factor;
}

// grid (T, H + 2*kvH), block >= d threads.
__global__ void gqa_prepare_kernel(const float* qkv, int H, int kvH, int d, const float* q_norm,
                                   const float* k_norm, float eps, RopeParams rope, const int* d_pos, bf16* q,
                                   bf16* k_cache, bf16* v_cache) {
  wait_for_prior_kernels();
  __shared__ float buf[1024];
  const int t = blockIdx.x, slot = blockIdx.y, i = threadIdx.x;
  const int64_t ld = static_cast<int64_t>(H + 2 * kvH) * d;
  const bool is_q = slot < H, is_k = !is_q && slot < H + kvH;
  float x = i < d ? qkv[t * ld + static_cast<int64_t>(slot) * d + i] : 0.0f;
  const float* norm = is_q ? q_norm : (is_k ? k_norm : nullptr);
  if (norm) {  // uniform across the block
    float ss = block_sum(x * x);
    if (i < d) x = x * rsqrtf(ss / d + eps) * norm[i];
  }
  const int pos = *d_pos + t;
  if (is_q || is_k) {
    if (i < d) buf[i] = x;
    __syncthreads();
    const int half = rope.rot_dim / 2;
    if (i < rope.rot_dim) {
      float c, s;
      rope_cos_sin(rope, pos, i % half, &c, &s);
      x = i < half ? x * c - buf[i + half] * s : x * c + buf[i - half] * s;
    }
  }
  if (i >= d) return;
  if (is_q) {
    q[(static_cast<int64_t>(t) * H + slot) * d + i] = __float2bfloat16(x);
  } else {
    const int head = is_k ? slot - H : slot - H - kvH;
    bf16* cache = is_k ? k_cache : v_cache;
    cache[(static_cast<int64_t>(pos) * kvH + head) * d + i] = __float2bfloat16(x);
  }
}

// grid (T, H + 1): blocks 0..H-1 are query heads, block H is the shared rope key.
__global__ void mla_rope_kernel(const float* q, int64_t ldq, const float* k_pe, int64_t ld_kpe, int H,
                                int nope, int rope_dim, RopeParams rope, const int* d_pos, bf16* q_out,
                                bf16* latent_cache, int kv_lora) {
  wait_for_prior_kernels();
  const int t = blockIdx.x, head = blockIdx.y;
  const int pos = *d_pos + t;
  const int qk = nope + rope_dim;
  const float* src;
  bf16* dst;
  if (head < H) {
    src = q + t * ldq + static_cast<int64_t>(head) * qk;
    dst = q_out + (static_cast<int64_t>(t) * H + head) * qk;
    for (int i = threadIdx.x; i < nope; i += blockDim.x) dst[i] = __float2bfloat16(src[i]);
    src += nope;
    dst += nope;
  } else {
    src = k_pe + t * ld_kpe;
    dst = latent_cache + static_cast<int64_t>(pos) * (kv_lora + rope_dim) + kv_lora;
  }
  // Interleaved pairs (2j, 2j+1) rotate by frequency j; the reference de-interleaves q and k alike,
  // which permutes both the same way and leaves every q.k unchanged.
  for (int j = threadIdx.x; j < rope_dim / 2; j += blockDim.x) {
    float c, s;
    rope_cos_sin(rope, pos, j, &c, &s);
    const float x0 = src[2 * j], x1 = src[2 * j + 1];
    dst[2 * j] = __float2bfloat16(x0 * c - x1 * s);
    dst[2 * j + 1] = __float2bfloat16(x1 * c + x0 * s);
  }
}

// grid (H, T), block over kv_lora columns.
__global__ void mla_absorb_kernel(const bf16* q, const bf16* kv_b, int H, int nope, int dv, int kv_lora,
                                  int rope_dim, bf16* q_abs) {
  wait_for_prior_kernels();
  extern __shared__ float qn[];  // (nope)
  const int h = blockIdx.x, t = blockIdx.y;
  const int qk = nope + rope_dim;
  const bf16* qh = q + (static_cast<int64_t>(t) * H + h) * qk;
  for (int i = threadIdx.x; i < nope; i += blockDim.x) qn[i] = __bfloat162float(qh[i]);
  __syncthreads();
  bf16* out = q_abs + (static_cast<int64_t>(t) * H + h) * (kv_lora + rope_dim);
  const bf16* w = kv_b + static_cast<int64_t>(h) * (nope + dv) * kv_lora;  // W_UK(h): (nope, kv_lora)
  for (int c = threadIdx.x; c < kv_lora; c += blockDim.x) {
    float acc = 0.0f;
    for (int i = 0; i < nope; ++i)
      acc = fmaf(qn[i], __bfloat162float(w[static_cast<int64_t>(i) * kv_lora + c]), acc);
    out[c] = __float2bfloat16(acc);
  }
  for (int i = threadIdx.x; i < rope_dim; i += blockDim.x) out[kv_lora + i] = qh[nope + i];
}

// One warp per output (t, h, v): W_UV(h) row v dotted with o_lat(t, h).
__global__ void mla_uv_kernel(const bf16* o_lat, const bf16* kv_b, int T, int H, int nope, int dv,
                              int kv_lora, bf16* out) {
  wait_for_prior_kernels();
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int64_t rows = static_cast<int64_t>(H) * dv;
  if (warp >= rows) return;
  const int h = static_cast<int>(warp / dv), v = static_cast<int>(warp % dv);
  const bf16* w = kv_b + (static_cast<int64_t>(h) * (nope + dv) + nope + v) * kv_lora;
  for (int t = 0; t < T; ++t) {
    const bf16* o = o_lat + (static_cast<int64_t>(t) * H + h) * kv_lora;
    float acc = 0.0f;
    for (int c = lane; c < kv_lora; c += 32) acc = fmaf(__bfloat162float(w[c]), __bfloat162float(o[c]), acc);
    acc = warp_sum(acc);
    if (lane == 0) out[static_cast<int64_t>(t) * rows + warp] = __float2bfloat16(acc);
  }
}

// grid (Lk, H)
__global__ void mla_expand_k_kernel(const bf16* kv, const bf16* latent_cache, int H, int nope, int dv,
                                    int rope_dim, int kv_lora, bf16* k) {
  const int j = blockIdx.x, h = blockIdx.y;
  const int qk = nope + rope_dim;
  const bf16* src = kv + (static_cast<int64_t>(j) * H + h) * (nope + dv);
  const bf16* pe = latent_cache + static_cast<int64_t>(j) * (kv_lora + rope_dim) + kv_lora;
  bf16* dst = k + (static_cast<int64_t>(j) * H + h) * qk;
  for (int i = threadIdx.x; i < qk; i += blockDim.x) dst[i] = i < nope ? src[i] : pe[i - nope];
}

int round_warp(int n) { return (n + 31) / 32 * 32; }

}  // namespace

void launch_embed(const int32_t* tokens, int T, const bf16* embed, int hidden, float* h,
                  cudaStream_t stream) {
  launch_kernel(embed_kernel, dim3(T), dim3(256), 0, stream, tokens, embed, hidden, h);
  CUDA_CHECK_LAUNCH();
}

void launch_rmsnorm(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out, int64_t ldo,
                    int rows, const int* row_offset, cudaStream_t stream, bf16* out_lo) {
  launch_kernel(rmsnorm_kernel, dim3(rows), dim3(256), 0, stream, x, ldx, w, n, eps, out, ldo, row_offset,
                out_lo);
  CUDA_CHECK_LAUNCH();
}

void launch_gqa_prepare(const float* qkv, int T, int H, int kvH, int d, const float* q_norm,
                        const float* k_norm, float eps, RopeParams rope, const int* d_pos, bf16* q,
                        bf16* k_cache, bf16* v_cache, cudaStream_t stream) {
  if (d > 1024) throw ResourceError("CUDA engine: head_dim above 1024 is not supported");
  launch_kernel(gqa_prepare_kernel, dim3(T, H + 2 * kvH), dim3(round_warp(d)), 0, stream, qkv, H, kvH, d,
                q_norm, k_norm, eps, rope, d_pos, q, k_cache, v_cache);
  CUDA_CHECK_LAUNCH();
}

void launch_mla_rope(const float* q, int64_t ldq, const float* k_pe, int64_t ld_kpe, int T, int H, int nope,
                     int rope_dim, RopeParams rope, const int* d_pos, bf16* q_out, bf16* latent_cache,
                     int kv_lora, cudaStream_t stream) {
  launch_kernel(mla_rope_kernel, dim3(T, H + 1), dim3(128), 0, stream, q, ldq, k_pe, ld_kpe, H, nope,
                rope_dim, rope, d_pos, q_out, latent_cache, kv_lora);
  CUDA_CHECK_LAUNCH();
}

void launch_mla_absorb(const bf16* q, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                       int rope_dim, bf16* q_abs, cudaStream_t stream) {
  launch_kernel(mla_absorb_kernel, dim3(H, T), dim3(256), nope * sizeof(float), stream, q, kv_b, H, nope, dv,
                kv_lora, rope_dim, q_abs);
  CUDA_CHECK_LAUNCH();
}

void launch_mla_uv(const bf16* o_lat, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                   bf16* out, cudaStream_t stream) {
  const int64_t warps = static_cast<int64_t>(H) * dv;
  launch_kernel(mla_uv_kernel, dim3(static_cast<unsigned>((warps + 7) / 8)), dim3(256), 0, stream, o_lat,
                kv_b, T, H, nope, dv, kv_lora, out);
  CUDA_CHECK_LAUNCH();
}

void launch_mla_expand_k(const bf16* kv, const bf16* latent_cache, int Lk, int H, int nope, int dv,
                         int rope_dim, int kv_lora, bf16* k, cudaStream_t stream) {
  mla_expand_k_kernel<<<dim3(Lk, H), 64, 0, stream>>>(kv, latent_cache, H, nope, dv, rope_dim, kv_lora, k);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
