// Random weights of real shapes, generated on the GPU so benchmarks need no checkpoint on disk.
#include <cmath>

#include "gpu/cuda_check.h"
#include "gpu/device_layout.h"
#include "gpu/kernels.h"

namespace moescope::gpu {

DeviceModel make_synthetic_model(const ModelConfig& config, uint64_t seed, cudaStream_t stream) {
  DeviceModel out;
  size_t bytes = plan_device_layout(config, nullptr, nullptr, out).bytes;
  out.arena = DeviceBuffer(bytes);
  out.bytes = bytes;
  char* base = out.arena.as<char>();
  LayoutPlan plan = plan_device_layout(config, nullptr, base, out);
  uint64_t index = 0;
  for (const Placement& p : plan.placements) {
    const uint64_t s = seed * 0x100000001B3ull + (++index);
    if (p.f32) {
      // Norm weights near 1 keep activations at their natural scale; biases small.
      launch_fill_uniform_f32(reinterpret_cast<float*>(base + p.offset), p.elements, p.is_norm ? 1.0f : 0.0f,
                              p.is_norm ? 0.1f : 0.01f, s, stream);
    } else {
      const float scale = 1.0f / std::sqrt(static_cast<float>(p.fan_in));
      launch_fill_uniform_bf16(reinterpret_cast<bf16*>(base + p.offset), p.elements, scale, s, stream);
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace moescope::gpu
