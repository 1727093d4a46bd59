// --flash-prefill: causal prefill attention as FlashAttention-2 tiles. Each block takes one head and
// 64 query rows (4 warps of 16) and walks the keys those rows can see in tiles of 64. The products
// are mma.sync m16n8k16 (bf16 in, fp32 accumulate) on fragments loaded with ldmatrix, whose
// accumulator layout is known, so the scores, the online softmax (running max and sum per row) and
// the output stay in registers: P goes from the score accumulators straight into the A operand of
// P.V. Key and value tiles are double-buffered with cp.async, the next tile loading while this one
// is used. Nothing of size T x Lk touches memory: per head, Q, K and V are read and O written once
// (K and V once per 64 query rows, from L2).
//
// The older --fused-attention kernel (gpu/flash_prefill.cu) passes every score and P.V tile through
// shared memory (WMMA's layout is opaque) and loads tiles synchronously; this one does neither.
//
// Head dims are zero-padded to the instantiated DKP/DVP (multiples of 16); shapes outside them, or
// not 16-byte aligned, return false and the caller takes another path.
#include <cfloat>
#include <cstdint>
#include <mutex>

#include "gpu/cuda_check.h"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

constexpr int kFaRows = 64;  // query rows per block: 4 warps x 16
constexpr int kFaKeys = 64;  // keys per tile
constexpr int kFaWarps = 4;
constexpr int kFaThreads = kFaWarps * 32;
constexpr float kFaLog2e = 1.4426950408889634f;

// Shared-memory rows padded by 8 elements (16 bytes): the 8 rows one ldmatrix phase reads then fall
// in distinct banks, and every row still starts 16-byte aligned for cp.async and ldmatrix.
template <int DKP, int DVP>
struct FaSmem {
  static constexpr int ldq = DKP + 8;
  static constexpr int ldk = DKP + 8;
  static constexpr int ldv = DVP + 8;
  static constexpr int q_elems = kFaRows * ldq;
  static constexpr int k_elems = kFaKeys * ldk;
  static constexpr int v_elems = kFaKeys * ldv;
  static constexpr size_t bytes = size_t{q_elems + 2 * (k_elems + v_elems)} * sizeof(bf16);
};

__device__ __forceinline__ uint32_t fa_smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, zero-filled when !valid (then `src` is only a valid address, not read).
__device__ __forceinline__ void fa_cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(fa_smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void fa_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void fa_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void fa_ldmatrix_x4(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(fa_smem_addr(p)));
}
__device__ __forceinline__ void fa_ldmatrix_x4_trans(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(fa_smem_addr(p)));
}

// d (16x8 fp32) += a (16x16 bf16, row) . b (16x8 bf16, col).
__device__ __forceinline__ void fa_mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats rounded to bf16, the first in the low half (the lower column of an mma fragment).
__device__ __forceinline__ uint32_t fa_pack_bf16(float lo, float hi, float& rounded_sum) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  rounded_sum += __low2float(p) + __high2float(p);  // the weights P.V will use
  return *reinterpret_cast<const uint32_t*>(&p);
}

// `rows` rows of DP columns (cols valid, the rest zero; rows past rows_valid zero) into shared memory,
// 16 bytes per cp.async.
template <int DP>
__device__ __forceinline__ void fa_load_rows(const bf16* src, int64_t ld, int rows, int rows_valid, int cols,
                                             bf16* dst, int ldd, const bf16* any_valid) {
  constexpr int chunks = DP / 8;
  for (int i = threadIdx.x; i < rows * chunks; i += kFaThreads) {
    const int r = i / chunks, c = (i % chunks) * 8;
    const bool valid = r < rows_valid && c < cols;
    fa_cp_async16(dst + r * ldd + c, valid ? src + r * ld + c : any_valid, valid);
  }
}

template <int DKP, int DVP>
__global__ void __launch_bounds__(kFaThreads) flash_prefill_mma_kernel(FlashPrefill a) {
  using Smem = FaSmem<DKP, DVP>;
  extern __shared__ __align__(128) unsigned char fa_smem[];
  bf16* qs = reinterpret_cast<bf16*>(fa_smem);
  bf16* k_tiles = qs + Smem::q_elems;           // 2 buffers of (kFaKeys, ldk)
  bf16* v_tiles = k_tiles + 2 * Smem::k_elems;  // 2 buffers of (kFaKeys, ldv)
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  // Heads along x, query tiles along y with the last (longest) tiles first, so every head's
  // heaviest tiles start in the first wave.
  const int h = blockIdx.x, g = h / a.group;
  const int t0 = (gridDim.y - 1 - blockIdx.y) * kFaRows;
  const bf16* q = a.q + static_cast<int64_t>(t0) * a.q_ld + static_cast<int64_t>(h) * a.dk;
  const bf16* k = a.k + static_cast<int64_t>(g) * a.k_head_stride;
  const bf16* v = a.v + static_cast<int64_t>(g) * a.v_head_stride;
  const int block_keys = min(a.p0 + t0 + kFaRows, a.Lk);  // keys any row of this block sees
  const int n_tiles = (block_keys + kFaKeys - 1) / kFaKeys;
  auto load_kv = [&](int tile, int buf) {
    const int j0 = tile * kFaKeys;
    fa_load_rows<DKP>(k + static_cast<int64_t>(j0) * a.k_ld, a.k_ld, kFaKeys, a.Lk - j0, a.dk,
                      k_tiles + buf * Smem::k_elems, Smem::ldk, a.k);
    fa_load_rows<DVP>(v + static_cast<int64_t>(j0) * a.v_ld, a.v_ld, kFaKeys, a.Lk - j0, a.dv,
                      v_tiles + buf * Smem::v_elems, Smem::ldv, a.v);
  };
  fa_load_rows<DKP>(q, a.q_ld, kFaRows, a.T - t0, a.dk, qs, Smem::ldq, a.q);
  load_kv(0, 0);
  fa_cp_async_commit();

  // A lane holds rows r and r + 8 of its warp's 16 (the mma accumulator layout), columns
  // 2 * (lane % 4) + {0, 1} of every 8-wide tile. Query t sees keys 0..p0+t; a padding row (t >= T)
  // is computed like a real one and not stored (key 0 keeps its sums finite).
  const int r = lane / 4, quad_col = 2 * (lane % 4);
  const int warp_t0 = t0 + warp * 16;
  const int last_key[2] = {a.p0 + warp_t0 + r, a.p0 + warp_t0 + r + 8};
  const int warp_last_key = min(a.p0 + warp_t0 + 15, a.Lk - 1);
  const float scale2 = a.scale * kFaLog2e;  // softmax in base 2
  uint32_t qf[DKP / 16][4];
  float o[DVP / 8][4];
#pragma unroll
  for (int c = 0; c < DVP / 8; ++c) o[c][0] = o[c][1] = o[c][2] = o[c][3] = 0.0f;
  float m[2] = {-FLT_MAX, -FLT_MAX}, l[2] = {0.0f, 0.0f};  // l: this lane's part of the row sum

  for (int it = 0; it < n_tiles; ++it) {
    const int buf = it & 1;
    if (it + 1 < n_tiles) {
      load_kv(it + 1, buf ^ 1);
      fa_cp_async_commit();
      fa_cp_async_wait<1>();  // this tile (and Q) landed; the next one may still be in flight
    } else {
      fa_cp_async_wait<0>();
    }
    __syncthreads();
    if (it == 0) {
#pragma unroll
      for (int kk = 0; kk < DKP / 16; ++kk)
        fa_ldmatrix_x4(qf[kk], qs + (warp * 16 + lane % 16) * Smem::ldq + kk * 16 + (lane / 16) * 8);
    }
    const int j0 = it * kFaKeys;
    if (j0 <= warp_last_key) {
      const bf16* ks = k_tiles + buf * Smem::k_elems;
      const bf16* vs = v_tiles + buf * Smem::v_elems;
      // S (16 x 64) = Q K^T: two 8-key n-tiles per ldmatrix.x4.
      float s[kFaKeys / 8][4];
#pragma unroll
      for (int n = 0; n < kFaKeys / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < DKP / 16; ++kk) {
#pragma unroll
        for (int n2 = 0; n2 < kFaKeys / 16; ++n2) {
          uint32_t b[4];
          fa_ldmatrix_x4(
              b, ks + (n2 * 16 + lane % 8 + (lane / 16) * 8) * Smem::ldk + kk * 16 + ((lane / 8) & 1) * 8);
          fa_mma(s[2 * n2], qf[kk], b[0], b[1]);
          fa_mma(s[2 * n2 + 1], qf[kk], b[2], b[3]);
        }
      }
      // Scale to base 2, mask keys past each row's causal limit (and past Lk) on the tiles that
      // cross them, and take each row's tile max across the 4 lanes that share it.
      const bool masked = j0 + kFaKeys - 1 > a.p0 + warp_t0 || j0 + kFaKeys > a.Lk;
      float tile_max[2] = {-FLT_MAX, -FLT_MAX};
#pragma unroll
      for (int n = 0; n < kFaKeys / 8; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = j0 + n * 8 + quad_col + (e & 1);
          float x = s[n][e] * scale2;
          if (masked && (key > last_key[e / 2] || key >= a.Lk)) x = -INFINITY;
          s[n][e] = x;
          tile_max[e / 2] = fmaxf(tile_max[e / 2], x);
        }
      }
      float alpha[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        tile_max[i] = fmaxf(tile_max[i], __shfl_xor_sync(0xffffffffu, tile_max[i], 1));
        tile_max[i] = fmaxf(tile_max[i], __shfl_xor_sync(0xffffffffu, tile_max[i], 2));
        const float m_new = fmaxf(m[i], tile_max[i]);
        alpha[i] = exp2f(m[i] - m_new);
        m[i] = m_new;
        l[i] *= alpha[i];
      }
#pragma unroll
      for (int c = 0; c < DVP / 8; ++c) {
        o[c][0] *= alpha[0];
        o[c][1] *= alpha[0];
        o[c][2] *= alpha[1];
        o[c][3] *= alpha[1];
      }
      // P = exp2(S - m) rounded to bf16, laid out as the A operand of P.V: the accumulators of
      // n-tiles 2kk and 2kk+1 are exactly the A fragment of keys 16kk..16kk+15.
      uint32_t p[kFaKeys / 16][4];
#pragma unroll
      for (int kk = 0; kk < kFaKeys / 16; ++kk) {
        p[kk][0] = fa_pack_bf16(exp2f(s[2 * kk][0] - m[0]), exp2f(s[2 * kk][1] - m[0]), l[0]);
        p[kk][1] = fa_pack_bf16(exp2f(s[2 * kk][2] - m[1]), exp2f(s[2 * kk][3] - m[1]), l[1]);
        p[kk][2] = fa_pack_bf16(exp2f(s[2 * kk + 1][0] - m[0]), exp2f(s[2 * kk + 1][1] - m[0]), l[0]);
        p[kk][3] = fa_pack_bf16(exp2f(s[2 * kk + 1][2] - m[1]), exp2f(s[2 * kk + 1][3] - m[1]), l[1]);
      }
      // O (16 x DVP) += P V: V's rows are keys, so its B fragments come through ldmatrix.trans.
#pragma unroll
      for (int kk = 0; kk < kFaKeys / 16; ++kk) {
#pragma unroll
        for (int c2 = 0; c2 < DVP / 16; ++c2) {
          uint32_t b[4];
          fa_ldmatrix_x4_trans(
              b, vs + (kk * 16 + lane % 8 + ((lane / 8) & 1) * 8) * Smem::ldv + c2 * 16 + (lane / 16) * 8);
          fa_mma(o[2 * c2], p[kk], b[0], b[1]);
          fa_mma(o[2 * c2 + 1], p[kk], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this buffer before the next iteration refills it
  }

#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int t = warp_t0 + r + 8 * i;
    if (t >= a.T) continue;
    const float inv = 1.0f / l[i];
    bf16* out = a.out + static_cast<int64_t>(t) * a.out_ld + static_cast<int64_t>(h) * a.dv;
#pragma unroll
    for (int c = 0; c < DVP / 8; ++c) {
      const int col = c * 8 + quad_col;
      if (col < a.dv) {
        *reinterpret_cast<__nv_bfloat162*>(out + col) =
            __floats2bfloat162_rn(o[c][2 * i] * inv, o[c][2 * i + 1] * inv);
      }
    }
  }
}

template <int DKP, int DVP>
void launch_flash_mma(const FlashPrefill& a, cudaStream_t stream) {
  constexpr size_t smem = FaSmem<DKP, DVP>::bytes;
  // Above 48 KB a kernel must opt in to its dynamic shared memory, once per process (the engine
  // drives one device).
  static std::once_flag opted_in;
  std::call_once(opted_in, [] {
    CUDA_CHECK(cudaFuncSetAttribute(flash_prefill_mma_kernel<DKP, DVP>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  });
  const dim3 grid(a.heads, (a.T + kFaRows - 1) / kFaRows);
  flash_prefill_mma_kernel<DKP, DVP><<<grid, kFaThreads, smem, stream>>>(a);
  CUDA_CHECK_LAUNCH();
}

bool fa_aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

int fa_round_up16(int n) { return (n + 15) / 16 * 16; }

}  // namespace

bool launch_flash_prefill_mma(const FlashPrefill& a, cudaStream_t stream) {
  // Every 8-element row chunk is one 16-byte cp.async; outputs are stored as bf16 pairs.
  const bool vectorisable = fa_aligned16(a.q) && fa_aligned16(a.k) && fa_aligned16(a.v) &&
                            fa_aligned16(a.out) && a.q_ld % 8 == 0 && a.k_ld % 8 == 0 && a.v_ld % 8 == 0 &&
                            a.out_ld % 8 == 0 && a.k_head_stride % 8 == 0 && a.v_head_stride % 8 == 0 &&
                            a.dk % 8 == 0 && a.dv % 8 == 0;
  if (!vectorisable || a.T <= 0 || a.heads <= 0 || a.group <= 0 || a.heads % a.group != 0 || a.p0 < 0 ||
      a.Lk < a.p0 + a.T)
    return false;
  // The golden models (GQA 16; MLA 24 + 8 keys, 16 values), Mixtral and Qwen3 (128), DeepSeek MLA
  // (192 keys, 128 values), and 64.
  const int dkp = fa_round_up16(a.dk), dvp = fa_round_up16(a.dv);
  if (dkp == 16 && dvp == 16) {
    launch_flash_mma<16, 16>(a, stream);
  } else if (dkp == 32 && dvp == 16) {
    launch_flash_mma<32, 16>(a, stream);
  } else if (dkp == 64 && dvp == 64) {
    launch_flash_mma<64, 64>(a, stream);
  } else if (dkp == 128 && dvp == 128) {
    launch_flash_mma<128, 128>(a, stream);
  } else if (dkp == 192 && dvp == 128) {
    launch_flash_mma<192, 128>(a, stream);
  } else {
    return false;
  }
  return true;
}

}  // namespace moescope::gpu
