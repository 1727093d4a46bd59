// Kernel launches of the decode path, plain or with programmatic dependent launch (PDL, Hopper):
// under --pdl a kernel may be scheduled while the kernel before it drains its last wave, instead
// of after it has completed. Every kernel launched through launch_kernel therefore starts with
// wait_for_prior_kernels(), which holds it on the GPU until the kernels before it have completed
// and their writes are visible (a no-op when it was launched plainly), and then lets the kernel
// after it be scheduled in turn: that one holds at its own wait, so the chain stays ordered.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "gpu/cuda_check.h"
#include "gpu/programmatic_launch.h"

namespace moescope::gpu {

__device__ __forceinline__ void wait_for_prior_kernels() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...), with the PDL attribute when this thread's
// ProgrammaticLaunchScope asks for it. The caller checks the launch with CUDA_CHECK_LAUNCH as before.
template <class... KernelArgs, class... Args>
void launch_kernel(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes,
                   cudaStream_t stream, Args&&... args) {
  if (!programmatic_launch_enabled()) {
    kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
    return;
  }
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(std::forward<Args>(args))...));
}

}  // namespace moescope::gpu
