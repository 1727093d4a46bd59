// DeepSeek-V3 / R1: MLA with q-LoRA, sigmoid scores with e_score_correction_bias, noaux_tc
// group-limited top-k, shared expert, routed_scaling_factor.
#include "core/arch/config_keys.h"
#include "core/arch/registry.h"

namespace moescope {

namespace {

void parse_deepseek_v3(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  read_mla_keys(json, c, file_label);
  read_deepseek_moe_keys(json, c, file_label);
}

}  // namespace

ArchEntry deepseek_v3_arch() {
  return {"deepseek_v3", Family::deepseek_v3, {"mlp", "gate_proj", "up_proj", "down_proj"}, parse_deepseek_v3};
}

}  // namespace moescope
