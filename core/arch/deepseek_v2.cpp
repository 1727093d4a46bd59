// DeepSeek-V2 / V2-Lite: multi-head latent attention (q-LoRA optional), YaRN RoPE, softmax scores
// with greedy or group-limited greedy top-k, shared experts.
#include "core/arch/config_keys.h"
#include "core/arch/registry.h"

namespace moescope {

namespace {

void parse_deepseek_v2(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  read_mla_keys(json, c, file_label);
  read_deepseek_moe_keys(json, c, file_label);
}

}  // namespace

ArchEntry deepseek_v2_arch() {
  return {"deepseek_v2", Family::deepseek_v2, {"mlp", "gate_proj", "up_proj", "down_proj"}, parse_deepseek_v2};
}

}  // namespace moescope
