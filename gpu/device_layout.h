// Where each weight goes in the device arena. One planning function serves the byte count, the
// checkpoint upload and the synthetic generator, so all three agree on the layout.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model_weights.h"
#include "gpu/device_model.h"

namespace moescope::gpu {

// One destination region, filled from `sources` concatenated in order (empty for synthetic).
struct Placement {
  size_t offset = 0;    // bytes into the arena
  int64_t elements = 0;
  bool f32 = false;     // norm vectors and biases stay fp32; matrices are bf16
  int64_t fan_in = 1;   // synthetic init scale: uniform(+-1/sqrt(fan_in))
  bool is_norm = false; // synthetic: ones
  std::vector<const WeightMatrix*> matrices;  // bf16 destination
  std::vector<const Vector1D*> vectors;       // f32 destination
  // --weights fp8: e4m3 values (rows, cols) at `offset` and their f32 scales at `scale_offset`,
  // (ceil(rows / scale_rows), ceil(cols / 128)); see Fp8View for scale_rows.
  bool fp8 = false;
  bool host = false;  // offloaded routed experts: offsets into the pinned host arena
  int64_t rows = 0, cols = 0;
  int scale_rows = 128;
  size_t scale_offset = 0;
};

struct LayoutPlan {
  std::vector<Placement> placements;
  size_t bytes = 0;
  size_t host_bytes = 0;  // experts_on_host: the routed experts' arena in pinned host memory
};

// Fills `model`'s pointers as `base` + offset (base may be null when only measuring) and returns the
// placements. `weights` is null for synthetic models. `fp8` keeps the linear weights of attention
// (kv_b aside: the absorbed-MLA kernels read it in bf16), dense, shared and routed experts as fp8;
// embeddings, lm_head and router stay bf16, as in a DeepSeek-V3 release.
// `experts_on_host` (expert offloading) places the routed experts' blocks, in the same layout, in a
// second arena at `host_base` (pinned host memory) instead of the device one.
LayoutPlan plan_device_layout(const ModelConfig& config, const ModelWeights* weights, char* base,
                              DeviceModel& model, bool fp8 = false, bool experts_on_host = false,
                              char* host_base = nullptr);

}  // namespace moescope::gpu
