// What an expert cache miss costs: the bytes of one routed expert as the checkpoint stores it, and
// the host-to-GPU links they cross, with each link's bandwidth and where that figure comes from
// (docs/offload.md). The modelled copy time is bytes / bandwidth: a floor, with no latency and no
// overlap with compute.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace moescope::analysis {

struct ExpertStorage {
  std::string dtype;         // "f32", "bf16", "f16" or "fp8_e4m3" (block-scaled)
  int64_t hidden = 0;        // hidden_size
  int64_t intermediate = 0;  // moe_intermediate_size
  int64_t weight_bytes = 0;  // gate and up (intermediate, hidden), down (hidden, intermediate)
  int64_t scale_bytes = 0;   // fp8: one f32 per weight block of each of the three matrices
  int64_t bytes() const { return weight_bytes + scale_bytes; }
};

// From a model's config.json text: its family's expert width (core/model_config.h) and its stored
// dtype: `quantization_config` with quant_method "fp8" (DeepSeek-V3: e4m3 with 128x128 block
// scales, `weight_block_size`), else `torch_dtype` (or transformers' newer `dtype`), bf16 when
// neither is given. InputError naming `label` when the config cannot size an expert.
ExpertStorage expert_storage(const std::string& config_json, const std::string& label);

struct HostLink {
  std::string_view name;
  double bytes_per_s = 0;   // one direction, host to device
  std::string_view source;  // where the figure comes from
};

std::span<const HostLink> host_links();                 // pcie4, pcie5, nvlink-c2c
const HostLink* find_host_link(std::string_view name);  // nullptr when unknown
std::string host_link_names();                          // "pcie4, pcie5, nvlink-c2c", for messages

}  // namespace moescope::analysis
