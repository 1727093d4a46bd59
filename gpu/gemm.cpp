#include "gpu/gemm.h"

#include <vector>

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

// As gemm_nt, group by group: cuBLAS sees (N x M[g]) = op_T(B_g) (N x K) . A_g (K x M[g]).
bool gemm_nt_grouped(cublasHandle_t handle, int groups, const int* M, int64_t N, int64_t K,
                     const bf16* const* a_ptrs, int64_t lda, const bf16* const* b_ptrs, int64_t ldb,
                     void* const* c_ptrs, OutType c_type, int64_t ldc) {
  if (groups == 0) return true;
  const size_t n = static_cast<size_t>(groups);
  // Every problem is its own group of one (its token count differs); the shape arrays are per group.
  const std::vector<cublasOperation_t> trans_a(n, CUBLAS_OP_T), trans_b(n, CUBLAS_OP_N);
  const std::vector<int> m(n, static_cast<int>(N)), k(n, static_cast<int>(K)), ld_a(n, static_cast<int>(ldb)),
      ld_b(n, static_cast<int>(lda)), ld_c(n, static_cast<int>(ldc)), group_size(n, 1);
  const std::vector<float> alpha(n, 1.0f), beta(n, 0.0f);
  const cublasStatus_t status = cublasGemmGroupedBatchedEx(
      handle, trans_a.data(), trans_b.data(), m.data(), M, k.data(), alpha.data(),
      reinterpret_cast<const void* const*>(b_ptrs), CUDA_R_16BF, ld_a.data(),
      reinterpret_cast<const void* const*>(a_ptrs), CUDA_R_16BF, ld_b.data(), beta.data(), c_ptrs,
      to_cuda(c_type), ld_c.data(), groups, group_size.data(), CUBLAS_COMPUTE_32F);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED) return false;
  CUBLAS_CHECK(status);
  return true;
}

}  // namespace moescope::gpu
