// Launchers of the engine's own kernels (cuBLAS calls live in gemm.h). Shapes are row-major and
// given in the comments; `stream` is always the engine's stream. Token positions come from device
// memory (`d_pos`: position of the step's first token) so decode steps replay as one CUDA graph.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace moescope::gpu {

using bf16 = __nv_bfloat16;

inline constexpr int kMaxDecodeTokens = 4;  // steps of at most this many tokens take the GEMV path

struct RopeParams {
  const float* inv_freq = nullptr;  // (rot_dim/2)
  int rot_dim = 0;
  float attention_factor = 1.0f;  // YaRN multiplies cos and sin by it
};

// h (T, hidden) fp32 = embed[tokens]
void launch_embed(const int32_t* tokens, int T, const bf16* embed, int hidden, float* h, cudaStream_t stream);

// out[r] = bf16(rmsnorm(x[r]) * w) for `rows` rows of n; out row index is offset by *row_offset
// when given (writing straight into a cache at the step's position).
// When `out_lo` is given, it receives bf16(v - out) (rows, n): out + out_lo carries the fp32 value to
// about 16 mantissa bits, so the router, run as two bf16 products, sees the unrounded normed hidden
// state as the reference's fp32 gate does and bf16 rounding does not flip near-tied experts.
void launch_rmsnorm(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out, int64_t ldo,
                    int rows, const int* row_offset, cudaStream_t stream, bf16* out_lo = nullptr);

// --fast-kernels RMSNorm (gpu/rmsnorm_vectorised.cu): launch_rmsnorm's contract with one round of
// 16-byte loads per thread. Returns false, launching nothing, for widths or alignments it does not
// take (n % 4, n <= 8192, x/w 16-byte and out/out_lo 8-byte aligned); the caller then takes launch_rmsnorm.
bool launch_rmsnorm_vectorised(const float* x, int64_t ldx, const float* w, int n, float eps, bf16* out,
                               int64_t ldo, int rows, const int* row_offset, cudaStream_t stream,
                               bf16* out_lo = nullptr);

// GQA: qkv (T, (H + 2*kvH)*d) fp32 -> optional per-head RMSNorm of q, k (Qwen3), rotate-half RoPE,
// q (T, H, d) bf16; k and v into the caches (ctx, kvH, d) at the step's positions.
void launch_gqa_prepare(const float* qkv, int T, int H, int kvH, int d, const float* q_norm,
                        const float* k_norm, float eps, RopeParams rope, const int* d_pos, bf16* q,
                        bf16* k_cache, bf16* v_cache, cudaStream_t stream);

// MLA: q (T, ldq) fp32 holds H heads of [nope | rope]; k_pe (T, ld_kpe) fp32 the shared rope key.
// Writes q_out (T, H, nope+rope) bf16 with interleaved RoPE on the rope part, and the rotated k_pe
// into latent_cache (ctx, kv_lora+rope) columns kv_lora.. at the step's positions.
void launch_mla_rope(const float* q, int64_t ldq, const float* k_pe, int64_t ld_kpe, int T, int H, int nope,
                     int rope_dim, RopeParams rope, const int* d_pos, bf16* q_out, bf16* latent_cache,
                     int kv_lora, cudaStream_t stream);

// MLA decode (absorbed): q_abs (T, H, kv_lora+rope) = [W_UK(h)^T q_nope | q_pe].
void launch_mla_absorb(const bf16* q, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                       int rope_dim, bf16* q_abs, cudaStream_t stream);
// MLA decode: out (T, H*dv) = W_UV(h) o_lat(t, h) with o_lat (T, H, kv_lora).
void launch_mla_uv(const bf16* o_lat, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                   bf16* out, cudaStream_t stream);
// --fast-kernels versions of the two above (gpu/mla_decode_streaming.cu), T <= kMaxDecodeTokens: the
// same results, kv_b streamed by many blocks. Return false, launching nothing, for shapes they do
// not take (absorb: kv_lora % 4, nope <= 512; uv: kv_lora % 8); the caller then takes the plain ones.
bool launch_mla_absorb_streaming(const bf16* q, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                                 int rope_dim, bf16* q_abs, cudaStream_t stream);
bool launch_mla_uv_streaming(const bf16* o_lat, const bf16* kv_b, int T, int H, int nope, int dv, int kv_lora,
                             bf16* out, cudaStream_t stream);
// MLA prefill: k (Lk, H, nope+rope) = [kv(:, h, :nope) | latent_cache(:, kv_lora:)], kv (Lk, H*(nope+dv)).
void launch_mla_expand_k(const bf16* kv, const bf16* latent_cache, int Lk, int H, int nope, int dv,
                         int rope_dim, int kv_lora, bf16* k, cudaStream_t stream);

// Prefill attention: S (heads, T, Lk) fp32 already scaled -> P bf16, causal with query t at
// absolute position p0 + t seeing keys 0..p0+t.
void launch_causal_softmax(const float* S, bf16* P, int heads, int T, int Lk, int p0, cudaStream_t stream);

// Fused causal attention for prefill (gpu/flash_prefill.cu): out = softmax(scale q k^T) v with query
// t at absolute position p0 + t seeing keys 0..p0+t, scores kept on chip. Returns false, launching
// nothing, for head dims or strides it does not handle (the caller then takes the unfused path).
struct FlashPrefill {
  const bf16* q = nullptr;  // query t, head h: q + t*q_ld + h*dk
  int64_t q_ld = 0;
  const bf16* k = nullptr;  // key j of kv head g = h/group: k + g*k_head_stride + j*k_ld
  int64_t k_ld = 0, k_head_stride = 0;
  const bf16* v = nullptr;  // likewise, dv wide
  int64_t v_ld = 0, v_head_stride = 0;
  bf16* out = nullptr;  // out + t*out_ld + h*dv
  int64_t out_ld = 0;
  int dk = 0, dv = 0, heads = 0, group = 1, T = 0, Lk = 0, p0 = 0;
  float scale = 1.0f;
};
bool launch_flash_prefill(const FlashPrefill& a, cudaStream_t stream);
// --flash-prefill (gpu/flash_prefill_mma.cu): the same contract as launch_flash_prefill, as
// FlashAttention-2 tiles on mma.sync with the softmax in registers and cp.async double-buffered keys
// and values (sm_80 and later). Returns false, launching nothing, for head dims without an
// instantiation (padded to 16: 16/16, 32/16, 64/64, 128/128, 192/128), unaligned rows or Lk < p0 + T.
bool launch_flash_prefill_mma(const FlashPrefill& a, cudaStream_t stream);

// Emulated expert-parallel all-to-all on one GPU (gpu/ep_exchange.cu): gather each token's row
// into the send block of every (src, dst) rank pair it travels on, then copy the off-diagonal
// blocks send -> receive (dispatch) or back (combine). Does not touch the forward pass.
struct EpExchange {
  const int32_t* ids = nullptr;           // (T, k) chosen experts
  const int32_t* copy_offsets = nullptr;  // (E+1) each expert's range in copy_ranks
  const int32_t* copy_ranks = nullptr;    // ranks holding a copy of each expert, ascending
  const bf16* x = nullptr;                // (T, hidden) what a rank sends: the normed MoE input
  bf16* send = nullptr;                   // (T*k, hidden) pair blocks, src-major
  bf16* recv = nullptr;                   // (T*k, hidden) pair blocks, dst-major
  int32_t* pair_rows = nullptr;           // (R*R) tokens src -> dst, [src*R + dst]
  int32_t* pair_cursor = nullptr;         // (R*R)
  int32_t* send_offset = nullptr;         // (R*R) first row of each pair's block
  int32_t* recv_offset = nullptr;         // (R*R)
  int T = 0, k = 0, E = 0, R = 1, hidden = 0;
};
void launch_ep_gather(const EpExchange& x, cudaStream_t stream);
void launch_ep_exchange(const EpExchange& x, bool combine, cudaStream_t stream);

// Decode attention over the cache (split-K over the context, then a merge).
struct DecodeAttention {
  const bf16* q = nullptr;  // (T, H, dk) at q + t*q_stride_t + h*dk
  int64_t q_stride_t = 0;
  const bf16* k = nullptr;  // key of position j, kv head g: k + j*k_stride_pos + g*k_stride_head
  int64_t k_stride_pos = 0, k_stride_head = 0;
  const bf16* v = nullptr;
  int64_t v_stride_pos = 0, v_stride_head = 0;
  int dk = 0, dv = 0, heads = 0, group = 1, T = 1;
  float scale = 1.0f;
  const int* d_pos = nullptr;
  int chunk = 64, n_splits = 1;
  float* part_o = nullptr;   // (T, H, n_splits, dv)
  float* part_ml = nullptr;  // (T, H, n_splits, 2)
  bf16* out = nullptr;       // (T, H, dv) at out + t*out_stride_t + h*dv
  int64_t out_stride_t = 0;
  bool vectorised = false;  // --fast-kernels: the partial pass with 16-byte loads where it fits
  // --context-splits: positions per split from the keys seen (at least 16, at most `chunk`), so a
  // short context still fills every split (gpu/decode_attention_common.cuh).
  bool context_splits = false;
  // --fast-merge: the merge computes each split's weight once (warp 0, into shared memory) and sums
  // the splits' partial outputs with independent loads, 256 threads (not yet the default).
  bool merge_weights_once = false;
};
void launch_decode_attention(const DecodeAttention& a, cudaStream_t stream);
// The partial pass alone with 16-byte loads (gpu/decode_attention_vectorised.cu). Returns false,
// launching nothing, for shapes it does not take (dk, dv, strides % 8, dv <= 1024, 16-byte aligned k/v).
bool launch_decode_partial_vectorised(const DecodeAttention& a, cudaStream_t stream);

// Router: logits (T, E) fp32 -> scores (T, E), topk ids (T, k) best first, final weights (T, k).
struct RouteParams {
  const float* logits = nullptr;
  int T = 0, E = 0, k = 0;
  bool sigmoid = false;
  int method = 0;  // TopkMethod: 0 greedy, 1 group_limited_greedy, 2 noaux_tc
  int n_group = 1, topk_group = 1;
  const float* bias = nullptr;  // (E) or null
  bool norm_topk = false;
  float scaling = 1.0f;
  float* scores = nullptr;
  int32_t* ids = nullptr;
  float* weights = nullptr;
  // Threads per token's block, a multiple of 32: --fast-kernels decode takes one warp, whose
  // barriers cost nothing next to eight warps' (the top-k runs k block-wide argmax rounds).
  int threads = 256;
  // --warp-topk: each token routed by one warp with the scores in registers and shuffle-only top-k
  // rounds (routing_device::route_token_warp), in the route kernel and the fused router; ignored for
  // shapes it does not take (E > 256, k > 32, n_group > 32). Not yet the default.
  bool warp_topk = false;
};
void launch_route(const RouteParams& p, cudaStream_t stream);

// Dispatch: for the A = T*k assignments, the rank of each within its expert in token order,
// per-expert kept counts (capacity > 0 caps them and flags the rest in `dropped`), and offsets.
void launch_dispatch_ranks(const int32_t* ids, int A, int E, int capacity, int32_t* rank, int32_t* counts,
                           uint8_t* dropped, int32_t* offsets, cudaStream_t stream);
// xs bf16 rows sorted by expert; slot_of (A) = row in xs or -1 when dropped. pad == 0: experts packed
// back to back (row offsets[e] + rank); pad > 0: expert e owns rows e*pad .. e*pad + pad - 1, so one
// strided-batched GEMM covers every expert.
void launch_gather(const int32_t* ids, const int32_t* rank, const uint8_t* dropped, const int32_t* offsets,
                   int A, int k, int pad, const bf16* x, int hidden, bf16* xs, int32_t* slot_of,
                   cudaStream_t stream);
// act (N, I) = silu(gu[:, :I]) * gu[:, I:], gu (N, 2I) bf16.
void launch_swiglu(const bf16* gu, int64_t N, int I, bf16* act, cudaStream_t stream);
// h (T, hidden) += sum_k weights(t, k) * y(slot_of(t, k)), y (rows, hidden) bf16.
void launch_combine(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k, int hidden,
                    float* h, cudaStream_t stream);
// --fast-prefill-kernels (gpu/prefill_vectorised.cu): launch_swiglu and launch_combine with 16-byte
// loads, the same results bit for bit. Return false, launching nothing, for widths that are not a
// multiple of 8 or rows not 16-byte aligned; the caller then takes the plain kernels.
bool launch_swiglu_vectorised(const bf16* gu, int64_t N, int I, bf16* act, cudaStream_t stream);
bool launch_combine_vectorised(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k,
                               int hidden, float* h, cudaStream_t stream);

// GEMV path for steps of T <= kMaxDecodeTokens tokens. W (rows, cols) bf16, x (T, cols) bf16 (ldx).
enum class GemvOut { store_f32, add_f32, store_bf16 };
void launch_gemv(const bf16* W, int rows, int cols, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo,
                 GemvOut mode, cudaStream_t stream);
// --fast-kernels router logits (gpu/router_gemv.cu): logits (T, E) fp32 = W (xb + xlo), W (E, hidden),
// xb and xlo (T, hidden) rows of ldx, T <= kMaxDecodeTokens, hidden % 8 == 0.
void launch_router_gemv(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx, int T,
                        float* logits, cudaStream_t stream);
// --fused-routing (gpu/router_gemv.cu): launch_router_gemv then launch_route in one kernel. The
// block that finishes its expert's logits last routes the step's tokens with p's rule (p.logits is
// set to `logits`). `blocks_done` is a zeroed device counter the kernel leaves zeroed; launches that
// share one must not overlap (one stream).
void launch_router_route(const bf16* W, int E, int hidden, const bf16* xb, const bf16* xlo, int64_t ldx,
                         float* logits, RouteParams p, unsigned* blocks_done, cudaStream_t stream);
// act (A, I) = silu(W_e[:I] x) * (W_e[I:] x) for assignment a = t*k + j, e = ids[a] (or 0 when ids is
// null), W_e = W + e*expert_stride, W_e (2I, hidden).
void launch_swiglu_gemv(const bf16* W, int64_t expert_stride, const int32_t* ids, int T, int k, const bf16* x,
                        int64_t ldx, int I, int hidden, bf16* act, cudaStream_t stream);
// h (T, hidden) += sum_j weights(t, j) * W_e(j) act(t*k + j), W_e (hidden, I): expert GEMV and the
// weighted combine in one pass.
void launch_down_combine_gemv(const bf16* W, int64_t expert_stride, const int32_t* ids, const float* weights,
                              const uint8_t* dropped, int T, int k, const bf16* act, int I, int hidden,
                              float* h, cudaStream_t stream);

// --fused-experts decode FFN of a MoE layer (gpu/fused_experts.cu), T <= kMaxDecodeTokens: routed and
// shared experts in one gate/up kernel and one down+combine kernel,
//   act (T*k, I) then (T, Is) = silu(gate x) * (up x),
//   h (T, hidden) += sum_j weights(t, j) * W_e(j) act(t*k + j) + W_shared act_shared(t),
// the same sums as launch_swiglu_gemv + launch_down_combine_gemv + the shared swiglu_ffn.
struct FusedExperts {
  const bf16* gate_up = nullptr;  // routed (E, 2I, hidden), expert e at e * gate_up_stride
  int64_t gate_up_stride = 0;
  const bf16* down = nullptr;  // routed (E, hidden, I), expert e at e * down_stride
  int64_t down_stride = 0;
  const int32_t* ids = nullptr;          // (T, k)
  const float* weights = nullptr;        // (T, k)
  const uint8_t* dropped = nullptr;      // (T, k) or null: a dropped assignment adds nothing
  const bf16* shared_gate_up = nullptr;  // (2*Is, hidden), null when Is == 0
  const bf16* shared_down = nullptr;     // (hidden, Is)
  const bf16* x = nullptr;               // (T, hidden) rows of ldx: the normed MoE input
  int64_t ldx = 0;
  bf16* act = nullptr;  // (T*k*I + T*Is)
  float* h = nullptr;   // (T, hidden) residual stream, added to
  int T = 0, k = 0, I = 0, Is = 0, hidden = 0;
};
// Whether the fused kernels take these shapes (widths % 8, k <= 16, 16-byte aligned weights and rows).
bool fused_experts_fit(const FusedExperts& f);
// Returns false, launching nothing, when fused_experts_fit does not hold; the caller then takes the
// separate kernels.
bool launch_fused_experts(const FusedExperts& f, cudaStream_t stream);

// *slot = the GPU's %globaltimer (ns) when the kernel runs (gpu/clock_stamp.cu).
void launch_clock_stamp(uint64_t* slot, cudaStream_t stream);

// Synthetic weights: out[i] = offset + scale * uniform(-1, 1), reproducible from `seed`.
void launch_fill_uniform_bf16(bf16* out, int64_t n, float scale, uint64_t seed, cudaStream_t stream);
void launch_fill_uniform_f32(float* out, int64_t n, float offset, float scale, uint64_t seed,
                             cudaStream_t stream);

}  // namespace moescope::gpu
