// Random weights of real shapes, generated on the GPU so benchmarks need no checkpoint on disk.
// Offloaded experts are generated on the GPU too, one matrix at a time in a scratch buffer, and
// copied to their pinned host arena.
#include <algorithm>
#include <cmath>

#include "core/fp8_block_quant.h"
#include "gpu/cuda_check.h"
#include "gpu/device_layout.h"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

// The placement's bytes from its offset: values, and for fp8 the scales after them.
size_t synthetic_placement_bytes(const Placement& p) {
  if (!p.fp8) return static_cast<size_t>(p.elements) * (p.f32 ? 4 : 2);
  const int64_t scales = (p.rows + p.scale_rows - 1) / p.scale_rows * fp8_scale_cols(p.cols);
  return p.scale_offset - p.offset + static_cast<size_t>(scales) * 4;
}

// Fills placement `p` at `at` (its offset's address), scales at at + (scale_offset - offset).
void fill_synthetic_placement(const Placement& p, char* at, uint64_t s, cudaStream_t stream) {
  if (p.fp8) {
    // e4m3 values spread over the whole range, one scale for all: uniform(+-1/sqrt(fan_in)) again.
    launch_fill_uniform_fp8(reinterpret_cast<uint8_t*>(at), p.elements, s, stream);
    const int64_t scales = (p.rows + p.scale_rows - 1) / p.scale_rows * fp8_scale_cols(p.cols);
    launch_fill_uniform_f32(reinterpret_cast<float*>(at + (p.scale_offset - p.offset)), scales,
                            1.0f / (kE4m3Max * std::sqrt(static_cast<float>(p.fan_in))), 0.0f, s, stream);
  } else if (p.f32) {
    // Norm weights near 1 keep activations at their natural scale; biases small.
    launch_fill_uniform_f32(reinterpret_cast<float*>(at), p.elements, p.is_norm ? 1.0f : 0.0f,
                            p.is_norm ? 0.1f : 0.01f, s, stream);
  } else {
    const float scale = 1.0f / std::sqrt(static_cast<float>(p.fan_in));
    launch_fill_uniform_bf16(reinterpret_cast<bf16*>(at), p.elements, scale, s, stream);
  }
}

}  // namespace

DeviceModel make_synthetic_model(const ModelConfig& config, uint64_t seed, cudaStream_t stream, bool fp8,
                                 bool experts_on_host) {
  DeviceModel out;
  const LayoutPlan sizes = plan_device_layout(config, nullptr, nullptr, out, fp8, experts_on_host);
  out.arena = DeviceBuffer(sizes.bytes);
  out.bytes = sizes.bytes;
  if (experts_on_host) out.host_experts = pin_expert_memory(sizes.host_bytes);
  char* base = out.arena.as<char>();
  char* host_base = out.host_experts.as<char>();
  LayoutPlan plan = plan_device_layout(config, nullptr, base, out, fp8, experts_on_host, host_base);
  size_t scratch_bytes = 0;
  for (const Placement& p : plan.placements)
    if (p.host) scratch_bytes = std::max(scratch_bytes, synthetic_placement_bytes(p));
  DeviceBuffer scratch(scratch_bytes);
  uint64_t index = 0;
  for (const Placement& p : plan.placements) {
    const uint64_t s = seed * 0x100000001B3ull + (++index);
    if (!p.host) {
      fill_synthetic_placement(p, base + p.offset, s, stream);
      continue;
    }
    fill_synthetic_placement(p, scratch.as<char>(), s, stream);
    CUDA_CHECK(cudaMemcpyAsync(host_base + p.offset, scratch.data(), synthetic_placement_bytes(p),
                               cudaMemcpyDeviceToHost, stream));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace moescope::gpu
