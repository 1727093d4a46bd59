// CUDA_CHECK / CUBLAS_CHECK: every runtime and cuBLAS call is checked, and a failure becomes a
// ResourceError carrying the call, its file:line and the library's own message.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace moescope::gpu {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

}  // namespace moescope::gpu

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    cudaError_t moescope_status_ = (call);                                                  \
    if (moescope_status_ != cudaSuccess)                                                    \
      ::moescope::gpu::throw_cuda_error(moescope_status_, #call, __FILE__, __LINE__);       \
  } while (0)

#define CUBLAS_CHECK(call)                                                                  \
  do {                                                                                      \
    cublasStatus_t moescope_status_ = (call);                                               \
    if (moescope_status_ != CUBLAS_STATUS_SUCCESS)                                          \
      ::moescope::gpu::throw_cublas_error(moescope_status_, #call, __FILE__, __LINE__);     \
  } while (0)

// After a kernel launch: catches bad launch configurations at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
