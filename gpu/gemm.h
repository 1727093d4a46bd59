// cuBLAS products in row-major terms, bf16 operands with fp32 accumulation. The engine's prefill path
// uses them for every projection; decode steps use the GEMV kernels instead.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <cstdint>

namespace moescope::gpu {

using bf16 = __nv_bfloat16;

enum class OutType { f32, bf16 };

// C (M, N) = alpha * A (M, K) . B (N, K)^T + beta * C; A and B bf16, C fp32 or bf16.
void gemm_nt(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda, const bf16* B,
             int64_t ldb, void* C, OutType c_type, int64_t ldc, float alpha = 1.0f, float beta = 0.0f);

// Per head h < batch: C_h (M, N) = alpha * A_h (M, K) . B_h (N, K)^T, with X_h = X + h*stride_x
// (stride 0 broadcasts one matrix to every head).
void gemm_nt_batched(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
                     int64_t stride_a, const bf16* B, int64_t ldb, int64_t stride_b, void* C, OutType c_type,
                     int64_t ldc, int64_t stride_c, int batch, float alpha);

// Per head: C_h (M, N) = A_h (M, K) . B_h (K, N).
void gemm_nn_batched(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
                     int64_t stride_a, const bf16* B, int64_t ldb, int64_t stride_b, void* C, OutType c_type,
                     int64_t ldc, int64_t stride_c, int batch);

// Grouped: for g < groups, C_g (M[g], N) = A_g (M[g], K) . B_g (N, K)^T in one cuBLAS call
// (cublasGemmGroupedBatchedEx), for products that share N and K but not M, as a MoE layer's experts
// over their tokens. M is a host array; a_ptrs, b_ptrs and c_ptrs are device arrays of (groups)
// pointers. Returns false, having done nothing, when cuBLAS does not support the call here
// (CUBLAS_STATUS_NOT_SUPPORTED); the caller then takes one gemm_nt
// per group.
bool gemm_nt_grouped(cublasHandle_t handle, int groups, const int* M, int64_t N, int64_t K,
                     const bf16* const* a_ptrs, int64_t lda, const bf16* const* b_ptrs, int64_t ldb,
                     void* const* c_ptrs, OutType c_type, int64_t ldc);

}  // namespace moescope::gpu
