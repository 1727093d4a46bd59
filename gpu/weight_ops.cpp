// The step's products with a weight matrix, whichever way the matrix is held: bf16 (the GEMV
// kernels and cuBLAS), or fp8 (`--weights fp8`: the fp8 GEMV kernels for decode; for prefill, rows
// dequantised into a bf16 tile, then cuBLAS, tile by tile).
#include <algorithm>

#include "gpu/cuda_engine_impl.h"
#include "gpu/gemm.h"

namespace moescope::gpu {

void CudaEngine::weight_gemv(const DeviceMatrix& W, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo,
                             GemvOut mode) {
  const int rows = static_cast<int>(W.rows), cols = static_cast<int>(W.cols);
  if (W.fp8) {
    launch_gemv_fp8(W.fp8, rows, cols, x, ldx, T, out, ldo, mode, stream_);
  } else {
    launch_gemv(W.data, rows, cols, x, ldx, T, out, ldo, mode, stream_);
  }
}

void CudaEngine::weight_gemm(int64_t M, const DeviceMatrix& W, const bf16* A, int64_t lda, void* C, OutType c_type,
                             int64_t ldc, float beta) {
  if (!W.fp8) {
    gemm_nt(blas_, M, W.rows, W.cols, A, lda, W.data, W.cols, C, c_type, ldc, 1.0f, beta);
    return;
  }
  // Output columns r0.. of C come from weight rows r0..: one tile of rows at a time.
  const int64_t tile_rows = std::max<int64_t>(1, kFp8TileElements / W.cols);
  const size_t c_elem = c_type == OutType::f32 ? sizeof(float) : sizeof(bf16);
  bf16* tile = fp8_tile_.as<bf16>();
  for (int64_t r0 = 0; r0 < W.rows; r0 += tile_rows) {
    const int64_t n = std::min(tile_rows, W.rows - r0);
    launch_dequantize_fp8(W.fp8, r0, n, W.cols, tile, stream_);
    gemm_nt(blas_, M, n, W.cols, A, lda, tile, W.cols, static_cast<char*>(C) + r0 * c_elem, c_type, ldc, 1.0f, beta);
  }
}

void CudaEngine::weight_swiglu_gemv(const DeviceMatrix& W, const int32_t* ids, int T, int k, const bf16* x,
                                    int64_t ldx, int I, int hidden, bf16* act) {
  if (W.fp8) {
    launch_swiglu_gemv_fp8(W.fp8, ids, T, k, x, ldx, I, hidden, act, stream_);
  } else {
    launch_swiglu_gemv(W.data, 2LL * I * hidden, ids, T, k, x, ldx, I, hidden, act, stream_);
  }
}

void CudaEngine::weight_down_combine_gemv(const DeviceMatrix& W, const int32_t* ids, const float* weights,
                                          const uint8_t* dropped, int T, int k, const bf16* act, int I, int hidden,
                                          float* h) {
  if (W.fp8) {
    launch_down_combine_gemv_fp8(W.fp8, ids, weights, dropped, T, k, act, I, hidden, h, stream_);
  } else {
    launch_down_combine_gemv(W.data, static_cast<int64_t>(hidden) * I, ids, weights, dropped, T, k, act, I, hidden,
                             h, stream_);
  }
}

ExpertBlocks CudaEngine::resident_experts(int layer) const {
  const DeviceLayer& L = model_.layers[static_cast<size_t>(layer)];
  const int64_t I = config_.moe_intermediate_size, hidden = config_.hidden_size;
  ExpertBlocks b;
  b.gate_up = {L.experts_gate_up, 2 * I, hidden, L.experts_gate_up_fp8};
  b.down = {L.experts_down, hidden, I, L.experts_down_fp8};
  return b;
}

DeviceMatrix expert_matrix(const DeviceMatrix& block, int64_t e) {
  DeviceMatrix m = block;
  if (block.fp8) {
    m.fp8 = block.fp8.expert(e);
  } else {
    m.data = block.data + e * block.rows * block.cols;
  }
  return m;
}

}  // namespace moescope::gpu
