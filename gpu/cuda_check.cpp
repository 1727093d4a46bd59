#include "gpu/cuda_check.h"

namespace moescope::gpu {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  (void)cudaGetLastError();  // a non-sticky error must not resurface at the next launch check
  throw ResourceError(std::string("CUDA error: ") + cudaGetErrorString(status) + " (" + call + " at " +
                      file + ":" + std::to_string(line) + ")");
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw ResourceError(std::string("cuBLAS error: ") + cublasGetStatusString(status) + " (" + call +
                      " at " + file + ":" + std::to_string(line) + ")");
}

}  // namespace moescope::gpu
