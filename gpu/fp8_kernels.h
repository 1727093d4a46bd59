// fp8 weights kept as fp8 on the GPU (`--weights fp8`): e4m3 values with DeepSeek-V3's f32 block
// scales, w = value * scale, dequantised in registers by the decode GEMV kernels (gpu/gemv_fp8.cu)
// and into bf16 tiles for the prefill GEMMs. The kernels mirror gpu/gemv.cu's contracts so the step
// code picks one or the other by whether a matrix has fp8 values.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "gpu/kernels.h"

namespace moescope::gpu {

using bf16 = __nv_bfloat16;
// GemvOut: gpu/kernels.h

inline constexpr int64_t kFp8ScaleCols = 128;  // columns per scale (the checkpoint's block width)
// Elements of the bf16 tile into which prefill dequantises fp8 weight rows (64 MiB).
inline constexpr int64_t kFp8TileElements = int64_t{32} << 20;

// Where a matrix's fp8 values and scales live; `values` null when the matrix is bf16.
struct Fp8View {
  const uint8_t* values = nullptr;  // (rows, cols) e4m3 bits, row-major
  const float* scales = nullptr;    // (ceil(rows / scale_rows), ceil(cols / 128))
  // Rows sharing one scale row: 128, the checkpoint's blocks, or 1 where a fused matrix's pieces do
  // not start on a block boundary (each row then carries its own block's scales).
  int scale_rows = 128;
  int64_t expert_stride = 0;  // expert blocks: bytes from one expert's values to the next's
  int64_t scale_stride = 0;   // expert blocks: floats from one expert's scales to the next's
  __host__ __device__ explicit operator bool() const { return values != nullptr; }
  // Expert e of a block (or the matrix itself for e = 0).
  __host__ __device__ Fp8View expert(int64_t e) const {
    Fp8View v = *this;
    v.values += e * expert_stride;
    v.scales += e * scale_stride;
    return v;
  }
};

inline int64_t fp8_scale_cols(int64_t cols) { return (cols + kFp8ScaleCols - 1) / kFp8ScaleCols; }

// The GEMV kernels read 16 fp8 values per load: fp8 matrices need cols % 16 == 0.
// out (T, rows) = W (rows, cols) . x (T, cols)^T, as launch_gemv.
void launch_gemv_fp8(const Fp8View& W, int rows, int cols, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo,
                     GemvOut mode, cudaStream_t stream);
// As launch_swiglu_gemv: W_e (2I, hidden) = W.expert(ids[a]) (or W itself when ids is null).
void launch_swiglu_gemv_fp8(const Fp8View& W, const int32_t* ids, int T, int k, const bf16* x, int64_t ldx, int I,
                            int hidden, bf16* act, cudaStream_t stream);
// As launch_down_combine_gemv: W_e (hidden, I) = W.expert(ids[a]).
void launch_down_combine_gemv_fp8(const Fp8View& W, const int32_t* ids, const float* weights, const uint8_t* dropped,
                                  int T, int k, const bf16* act, int I, int hidden, float* h, cudaStream_t stream);
// out (n_rows, cols) bf16 = rows first_row .. first_row + n_rows - 1 of W, dequantised (prefill tiles).
void launch_dequantize_fp8(const Fp8View& W, int64_t first_row, int64_t n_rows, int64_t cols, bf16* out,
                           cudaStream_t stream);
// Synthetic fp8 weights: values e4m3(uniform(-448, 448)) from `seed`; scales are filled separately.
void launch_fill_uniform_fp8(uint8_t* out, int64_t n, uint64_t seed, cudaStream_t stream);

}  // namespace moescope::gpu
