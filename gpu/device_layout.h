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
};

struct LayoutPlan {
  std::vector<Placement> placements;
  size_t bytes = 0;
};

// Fills `model`'s pointers as `base` + offset (base may be null when only measuring) and returns the
// placements. `weights` is null for synthetic models.
LayoutPlan plan_device_layout(const ModelConfig& config, const ModelWeights* weights, char* base,
                              DeviceModel& model);

}  // namespace moescope::gpu
