// `--weights fp8`: DeepSeek-V3's fp8 recipe applied at load to a checkpoint stored in bf16, f16 or
// f32, so that any model runs with the fp8 values a GPU engine would hold and the CPU engine is
// their fp32 reference (it reads F8_E4M3 weights with block scales exactly as it reads a V3
// release). As in the V3 release, the linear weights of attention, dense, shared and routed experts
// become e4m3 with one f32 scale per 128x128 block; embeddings, lm_head, router and norms stay.
#pragma once

#include <optional>
#include <string_view>

#include "core/model.h"

namespace moescope {

enum class WeightFormat : uint8_t { stored, fp8 };

std::optional<WeightFormat> parse_weight_format(std::string_view name);  // "stored" or "fp8"

// Quantises every such weight not already F8_E4M3 into tensors the model owns and points its
// WeightMatrix views at them. Returns how many matrices it converted.
int64_t quantize_weights_fp8(Model& model);

}  // namespace moescope
