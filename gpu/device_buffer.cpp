#include "gpu/device_buffer.h"

#include <string>

#include "core/error.h"
#include "gpu/cuda_check.h"

namespace moescope::gpu {

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  cudaError_t status = cudaMalloc(&data_, bytes);
  if (status != cudaSuccess) {
    data_ = nullptr;
    (void)cudaGetLastError();
    throw ResourceError("GPU out of memory: could not allocate " + std::to_string(bytes) +
                        " bytes (" + cudaGetErrorString(status) + ")");
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (data_) cudaFree(data_);
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  cudaError_t status = cudaMallocHost(&data_, bytes);
  if (status != cudaSuccess) {
    data_ = nullptr;
    (void)cudaGetLastError();
    throw ResourceError("could not allocate " + std::to_string(bytes) + " bytes of pinned host memory (" +
                        cudaGetErrorString(status) + ")");
  }
}

PinnedBuffer::~PinnedBuffer() {
  if (data_) cudaFreeHost(data_);
}

}  // namespace moescope::gpu
