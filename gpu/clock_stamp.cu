// A one-thread kernel that writes the GPU's global nanosecond timer into a slot: phase timings of
// --device-capture inside the decode graph, read back with the step's one copy instead of one
// event pair per phase and an elapsed-time query per mark on the host.
#include <cstdint>

#include "gpu/cuda_check.h"
#include "gpu/kernels.h"
#include "gpu/launch.cuh"

namespace moescope::gpu {
namespace {

__global__ void clock_stamp_kernel(uint64_t* slot) {
  wait_for_prior_kernels();
  uint64_t now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  *slot = now;
}

}  // namespace

void launch_clock_stamp(uint64_t* slot, cudaStream_t stream) {
  launch_kernel(clock_stamp_kernel, dim3(1), dim3(1), 0, stream, slot);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
