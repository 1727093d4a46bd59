#include "gpu/gemm.h"

#include "gpu/cuda_check.h"

namespace moescope::gpu {
namespace {

cudaDataType_t to_cuda(OutType t) { return t == OutType::f32 ? CUDA_R_32F : CUDA_R_16BF; }

}  // namespace

// Row-major C = A B^T is column-major C^T = B^T' A': cuBLAS sees (N x M) = op_T(B) (N x K) . A (K x M).
void gemm_nt(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda, const bf16* B,
             int64_t ldb, void* C, OutType c_type, int64_t ldc, float alpha, float beta) {
  if (M == 0 || N == 0) return;
  CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                            static_cast<int>(K), &alpha, B, CUDA_R_16BF, static_cast<int>(ldb), A, CUDA_R_16BF,
                            static_cast<int>(lda), &beta, C, to_cuda(c_type), static_cast<int>(ldc),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_nt_batched(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
                     int64_t stride_a, const bf16* B, int64_t ldb, int64_t stride_b, void* C, OutType c_type,
                     int64_t ldc, int64_t stride_c, int batch, float alpha) {
  const float beta = 0.0f;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                                          static_cast<int>(K), &alpha, B, CUDA_R_16BF, static_cast<int>(ldb), stride_b,
                                          A, CUDA_R_16BF, static_cast<int>(lda), stride_a, &beta, C, to_cuda(c_type),
                                          static_cast<int>(ldc), stride_c, batch, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT));
}

// Row-major C = A B is column-major C^T = B^T A^T: cuBLAS sees (N x M) = B (N x K) . A (K x M), no transposes.
void gemm_nn_batched(cublasHandle_t handle, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
                     int64_t stride_a, const bf16* B, int64_t ldb, int64_t stride_b, void* C, OutType c_type,
                     int64_t ldc, int64_t stride_c, int batch) {
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                                          static_cast<int>(K), &alpha, B, CUDA_R_16BF, static_cast<int>(ldb), stride_b,
                                          A, CUDA_R_16BF, static_cast<int>(lda), stride_a, &beta, C, to_cuda(c_type),
                                          static_cast<int>(ldc), stride_c, batch, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT));
}

}  // namespace moescope::gpu
