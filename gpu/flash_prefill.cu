// Fused causal attention for prefill, flash-style: scores never leave the SM. Each block takes one
// head and 64 query rows (4 warps of 16); it walks the keys its rows can see in tiles of 64,
// keeping a running max and sum per row (online softmax) and the output accumulator in registers.
// The two products run on the tensor cores through WMMA (bf16 in, fp32 accumulate), as cuBLAS does
// on the unfused path; WMMA's accumulator layout is opaque, so scores and P·V pass through a
// per-warp shared-memory tile where each lane pair owns one row.
//
// Head dims are padded with zeros to the instantiated DKP/DVP (keys) and DVP (values); shapes
// outside the instantiated pairs, or not 16-byte aligned, return false and the caller uses the
// unfused path.
#include <mma.h>

#include <mutex>

#include "gpu/cuda_check.h"
#include "gpu/kernel_common.cuh"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

constexpr int kRows = 64;  // query rows per block: 4 warps x 16
constexpr int kKeys = 64;  // keys per tile
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr float kLog2e = 1.4426950408889634f;

// Shared-memory strides (elements), padded so rows start on different banks; WMMA needs the
// stride a multiple of 8 (bf16) or 4 (float) and fragment pointers 32-byte aligned.
template <int DKP, int DVP>
struct FlashSmem {
  static constexpr int ldq = DKP + 8;
  static constexpr int ldk = DKP + 8;
  static constexpr int ldv = DVP + 8;
  static constexpr int lds = (DVP + 4 > kKeys + 4 ? DVP + 4 : kKeys + 4);  // scores, then P·V
  static constexpr int ldp = kKeys + 8;
  static constexpr size_t q_bytes = size_t{kRows} * ldq * 2;
  static constexpr size_t k_bytes = size_t{kKeys} * ldk * 2;
  static constexpr size_t v_bytes = size_t{kKeys} * ldv * 2;
  static constexpr size_t s_bytes = size_t{16} * lds * 4;  // per warp
  static constexpr size_t p_bytes = size_t{16} * ldp * 2;  // per warp
  static constexpr size_t total = q_bytes + k_bytes + v_bytes + kWarps * (s_bytes + p_bytes);
  static_assert(q_bytes % 32 == 0 && k_bytes % 32 == 0 && v_bytes % 32 == 0 && s_bytes % 32 == 0 &&
                p_bytes % 32 == 0);
};

// rows x (cols rounded to DP) bf16 tile into shared memory: 8 elements (16 bytes) at a time, zeros
// past `rows_valid` and past `cols`.
template <int DP>
__device__ __forceinline__ void load_tile(const bf16* src, int64_t ld, int rows, int rows_valid, int cols,
                                          bf16* dst, int ldd) {
  constexpr int chunks = DP / 8;
  for (int i = threadIdx.x; i < rows * chunks; i += blockDim.x) {
    const int r = i / chunks, c = (i % chunks) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < rows_valid && c < cols) v = *reinterpret_cast<const uint4*>(src + r * ld + c);
    *reinterpret_cast<uint4*>(dst + r * ldd + c) = v;
  }
}

template <int DKP, int DVP>
__global__ void __launch_bounds__(kThreads) flash_prefill_kernel(FlashPrefill a) {
  using namespace nvcuda;
  using Smem = FlashSmem<DKP, DVP>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem);
  bf16* ks = reinterpret_cast<bf16*>(smem + Smem::q_bytes);
  bf16* vs = reinterpret_cast<bf16*>(smem + Smem::q_bytes + Smem::k_bytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned char* warp_smem =
      smem + Smem::q_bytes + Smem::k_bytes + Smem::v_bytes + warp * (Smem::s_bytes + Smem::p_bytes);
  float* sw = reinterpret_cast<float*>(warp_smem);  // 16 x lds: scores, then P·V
  bf16* pw = reinterpret_cast<bf16*>(warp_smem + Smem::s_bytes);

  // The last query tiles see the most keys: start them first.
  const int tile = gridDim.x - 1 - blockIdx.x;
  const int h = blockIdx.y, g = h / a.group;
  const int t0 = tile * kRows;
  const bf16* q = a.q + static_cast<int64_t>(t0) * a.q_ld + static_cast<int64_t>(h) * a.dk;
  const bf16* k = a.k + static_cast<int64_t>(g) * a.k_head_stride;
  const bf16* v = a.v + static_cast<int64_t>(g) * a.v_head_stride;
  load_tile<DKP>(q, a.q_ld, kRows, a.T - t0, a.dk, qs, Smem::ldq);

  // Lanes 2r and 2r+1 own row r of the warp's 16: half the keys of a tile each, and the output
  // columns 2j + half.
  const int r = lane >> 1, half = lane & 1;
  const int t = t0 + warp * 16 + r;
  // Keys 0..p0+t are visible; a padding row (t >= T) sees key 0 so that its sums stay finite.
  const int visible = t < a.T ? min(a.p0 + t + 1, a.Lk) : 1;
  const int warp_visible = min(a.p0 + t0 + warp * 16 + 16, a.Lk);  // keys any row of this warp sees
  const int block_visible = min(a.p0 + t0 + kRows, a.Lk);
  const float scale2 = a.scale * kLog2e;
  float m = -FLT_MAX, l = 0.0f;
  float o[DVP / 2];
#pragma unroll
  for (int j = 0; j < DVP / 2; ++j) o[j] = 0.0f;

  for (int j0 = 0; j0 < block_visible; j0 += kKeys) {
    __syncthreads();  // the previous tile's keys and values are no longer read
    load_tile<DKP>(k + static_cast<int64_t>(j0) * a.k_ld, a.k_ld, kKeys, a.Lk - j0, a.dk, ks, Smem::ldk);
    load_tile<DVP>(v + static_cast<int64_t>(j0) * a.v_ld, a.v_ld, kKeys, a.Lk - j0, a.dv, vs, Smem::ldv);
    __syncthreads();
    if (j0 >= warp_visible) continue;  // every row of this warp is past its causal limit

    // S (16 x 64) = Q_w K^T
    for (int nt = 0; nt < kKeys / 16; ++nt) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < DKP / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kb;
        wmma::load_matrix_sync(qa, qs + (warp * 16) * Smem::ldq + kk * 16, Smem::ldq);
        wmma::load_matrix_sync(kb, ks + (nt * 16) * Smem::ldk + kk * 16, Smem::ldk);
        wmma::mma_sync(acc, qa, kb, acc);
      }
      wmma::store_matrix_sync(sw + nt * 16, acc, Smem::lds, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over this lane's 32 keys of row r, in base 2.
    const float* srow = sw + r * Smem::lds + half * 32;
    float tile_max = -FLT_MAX;
    for (int c = 0; c < 32; ++c) {
      if (j0 + half * 32 + c < visible) tile_max = fmaxf(tile_max, srow[c] * scale2);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float m_new = fmaxf(m, tile_max);
    const float alpha = exp2f(m - m_new);
    float sum = 0.0f;
    bf16* prow = pw + r * Smem::ldp + half * 32;
    for (int c = 0; c < 32; ++c) {
      const bool seen = j0 + half * 32 + c < visible;
      const bf16 p = __float2bfloat16(seen ? exp2f(srow[c] * scale2 - m_new) : 0.0f);
      prow[c] = p;
      sum += __bfloat162float(p);  // the rounded weights P·V will use
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = m_new;
    __syncwarp();  // P written, scores read: sw now takes P·V

    // PV (16 x DVP) = P_w V
    for (int ct = 0; ct < DVP / 16; ++ct) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> vb;
        wmma::load_matrix_sync(pa, pw + kk * 16, Smem::ldp);
        wmma::load_matrix_sync(vb, vs + (kk * 16) * Smem::ldv + ct * 16, Smem::ldv);
        wmma::mma_sync(acc, pa, vb, acc);
      }
      wmma::store_matrix_sync(sw + ct * 16, acc, Smem::lds, wmma::mem_row_major);
    }
    __syncwarp();
    const float* pv = sw + r * Smem::lds;
#pragma unroll
    for (int j = 0; j < DVP / 2; ++j) o[j] = o[j] * alpha + pv[2 * j + half];
    __syncwarp();  // P·V read before the next tile's scores overwrite it
  }

  if (t >= a.T) return;
  const float inv = 1.0f / l;
  bf16* out = a.out + static_cast<int64_t>(t) * a.out_ld + static_cast<int64_t>(h) * a.dv;
#pragma unroll
  for (int j = 0; j < DVP / 2; ++j) {
    const int c = 2 * j + half;
    if (c < a.dv) out[c] = __float2bfloat16(o[j] * inv);
  }
}

template <int DKP, int DVP>
void launch_flash(const FlashPrefill& a, cudaStream_t stream) {
  constexpr size_t smem = FlashSmem<DKP, DVP>::total;
  // Above 48 KB a kernel must opt in to its dynamic shared memory, once per process and device
  // kind; the engine drives one device.
  static std::once_flag opted_in;
  std::call_once(opted_in, [] {
    CUDA_CHECK(cudaFuncSetAttribute(flash_prefill_kernel<DKP, DVP>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  });
  const dim3 grid((a.T + kRows - 1) / kRows, a.heads);
  flash_prefill_kernel<DKP, DVP><<<grid, kThreads, smem, stream>>>(a);
  CUDA_CHECK_LAUNCH();
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

int round_up32(int n) { return (n + 31) / 32 * 32; }

}  // namespace

bool launch_flash_prefill(const FlashPrefill& a, cudaStream_t stream) {
  // Every 8-element row chunk must be a 16-byte load.
  const bool vectorisable = aligned16(a.q) && aligned16(a.k) && aligned16(a.v) && a.q_ld % 8 == 0 &&
                            a.k_ld % 8 == 0 && a.v_ld % 8 == 0 && a.k_head_stride % 8 == 0 &&
                            a.v_head_stride % 8 == 0 && a.dk % 8 == 0 && a.dv % 8 == 0;
  if (!vectorisable || a.T <= 0 || a.heads <= 0 || a.group <= 0) return false;
  // The golden models (16, 24 + 16), Mixtral and Qwen3 (128), DeepSeek MLA (192 + 128).
  const int dkp = round_up32(a.dk), dvp = round_up32(a.dv);
  if (dkp == 32 && dvp == 32) {
    launch_flash<32, 32>(a, stream);
  } else if (dkp == 64 && dvp == 64) {
    launch_flash<64, 64>(a, stream);
  } else if (dkp == 128 && dvp == 128) {
    launch_flash<128, 128>(a, stream);
  } else if (dkp == 192 && dvp == 128) {
    launch_flash<192, 128>(a, stream);
  } else {
    return false;
  }
  return true;
}

}  // namespace moescope::gpu
