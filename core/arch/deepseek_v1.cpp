// DeepSeek-MoE 16B (model_type "deepseek"): Llama attention, fine-grained routed experts plus
// shared experts, softmax top-k, the first layer(s) dense.
#include "core/arch/config_keys.h"
#include "core/arch/registry.h"

namespace moescope {

namespace {

void parse_deepseek_v1(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  read_deepseek_moe_keys(json, c, file_label);
}

}  // namespace

ArchEntry deepseek_v1_arch() {
  return {"deepseek", Family::deepseek_v1, {"mlp", "gate_proj", "up_proj", "down_proj"}, parse_deepseek_v1};
}

}  // namespace moescope
