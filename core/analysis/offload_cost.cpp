#include "core/analysis/offload_cost.h"

#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/model_config.h"

namespace moescope::analysis {
namespace {

// Peak one-direction rates of an x16 link (docs/offload.md): PCIe 4.0 16 GT/s and 5.0 32 GT/s per
// lane with 128b/130b encoding; NVLink-C2C 900 GB/s total between Grace and Hopper, 450 each way.
constexpr HostLink kHostLinks[] = {
    {"pcie4", 16e9 * 16 * 128 / 130 / 8,
     "PCI-SIG PCIe 4.0: 16 GT/s x16 lanes, 128b/130b = 31.5 GB/s per direction"},
    {"pcie5", 32e9 * 16 * 128 / 130 / 8,
     "PCI-SIG PCIe 5.0: 32 GT/s x16 lanes, 128b/130b = 63.0 GB/s per direction"},
    {"nvlink-c2c", 450e9, "NVIDIA GH200 datasheet: NVLink-C2C 900 GB/s total = 450 GB/s per direction"},
};

int64_t scale_blocks(int64_t n, int64_t block) { return (n + block - 1) / block; }

}  // namespace

ExpertStorage expert_storage(const std::string& config_json, const std::string& label) {
  const ModelConfig config = parse_model_config(config_json, label);
  const nlohmann::json json = nlohmann::json::parse(config_json);  // parse_model_config accepted it
  ExpertStorage out;
  out.hidden = config.hidden_size;
  out.intermediate = config.moe_intermediate_size;
  if (out.hidden < 1 || out.intermediate < 1) {
    fail_input(label + ": hidden_size " + std::to_string(out.hidden) + " and moe_intermediate_size " +
               std::to_string(out.intermediate) + " must both be positive to size an expert");
  }
  const int64_t per_matrix = checked_mul(out.hidden, out.intermediate, label + ": expert size");
  const int64_t weights = checked_mul(per_matrix, 3, label + ": expert size");

  const auto quant = json.find("quantization_config");
  if (quant != json.end() && quant->is_object() && quant->value("quant_method", "") == "fp8") {
    int64_t block_rows = 128, block_cols = 128;
    const auto block = quant->find("weight_block_size");
    if (block != quant->end()) {
      if (!block->is_array() || block->size() != 2 || !(*block)[0].is_number_integer() ||
          !(*block)[1].is_number_integer() || (*block)[0].get<int64_t>() < 1 ||
          (*block)[1].get<int64_t>() < 1) {
        fail_input(label + ": quantization_config.weight_block_size must be two positive integers, got " +
                   block->dump());
      }
      block_rows = (*block)[0].get<int64_t>();
      block_cols = (*block)[1].get<int64_t>();
    }
    out.dtype = "fp8_e4m3";
    out.weight_bytes = weights;
    // gate and up are (intermediate, hidden), down is (hidden, intermediate).
    const int64_t scales =
        2 * scale_blocks(out.intermediate, block_rows) * scale_blocks(out.hidden, block_cols) +
        scale_blocks(out.hidden, block_rows) * scale_blocks(out.intermediate, block_cols);
    out.scale_bytes = scales * 4;
    return out;
  }
  std::string dtype = "bfloat16";
  for (const char* key : {"torch_dtype", "dtype"}) {
    const auto it = json.find(key);
    if (it != json.end() && it->is_string()) {
      dtype = it->get<std::string>();
      break;
    }
  }
  int64_t element_bytes = 0;
  if (dtype == "bfloat16") {
    out.dtype = "bf16", element_bytes = 2;
  } else if (dtype == "float16") {
    out.dtype = "f16", element_bytes = 2;
  } else if (dtype == "float32") {
    out.dtype = "f32", element_bytes = 4;
  } else {
    fail_input(label + ": torch_dtype \"" + dtype +
               "\" is not one an expert is stored in (expected bfloat16, "
               "float16 or float32, or a quantization_config with quant_method fp8)");
  }
  out.weight_bytes = checked_mul(weights, element_bytes, label + ": expert size");
  return out;
}

std::span<const HostLink> host_links() { return kHostLinks; }

const HostLink* find_host_link(std::string_view name) {
  for (const HostLink& link : kHostLinks) {
    if (link.name == name) return &link;
  }
  return nullptr;
}

std::string host_link_names() {
  std::string names;
  for (const HostLink& link : kHostLinks) names += (names.empty() ? "" : ", ") + std::string(link.name);
  return names;
}

}  // namespace moescope::analysis
