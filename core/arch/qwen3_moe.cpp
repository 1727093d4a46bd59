// Qwen3-MoE: GQA attention with per-head RMSNorm on q and k, softmax top-k, optional
// renormalisation; layers listed in mlp_only_layers (or off the decoder_sparse_step) are dense.
#include <algorithm>

#include "core/arch/config_keys.h"
#include "core/arch/registry.h"
#include "core/error.h"

namespace moescope {

namespace {

void parse_qwen3_moe(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  c.qk_norm = true;
  c.intermediate_size = read_dim(json, "intermediate_size", file_label);
  c.moe_intermediate_size = read_dim(json, "moe_intermediate_size", file_label);
  c.n_routed_experts = read_dim(json, "num_experts", file_label, -1, 1 << 16);
  c.top_k = read_dim(json, "num_experts_per_tok", file_label, -1, c.n_routed_experts);
  c.norm_topk_prob = read_bool(json, "norm_topk_prob", file_label, false);
  c.scoring = ScoringFunc::softmax;
  c.topk_method = TopkMethod::greedy;
  const int64_t sparse_step = read_dim(json, "decoder_sparse_step", file_label, 1);
  std::vector<int64_t> mlp_only;
  if (json.contains("mlp_only_layers") && !json["mlp_only_layers"].is_null()) {
    if (!json["mlp_only_layers"].is_array()) fail_input(file_label + ": \"mlp_only_layers\" must be a list of layer indices");
    for (const auto& v : json["mlp_only_layers"]) {
      if (!v.is_number_integer()) fail_input(file_label + ": \"mlp_only_layers\" must hold integers");
      mlp_only.push_back(v.get<int64_t>());
    }
  }
  c.layer_is_moe.assign(static_cast<size_t>(c.num_layers), false);
  for (int64_t l = 0; l < c.num_layers; ++l)
    c.layer_is_moe[l] = std::find(mlp_only.begin(), mlp_only.end(), l) == mlp_only.end() && (l + 1) % sparse_step == 0;
}

}  // namespace

ArchEntry qwen3_moe_arch() {
  return {"qwen3_moe", Family::qwen3_moe, {"mlp", "gate_proj", "up_proj", "down_proj"}, parse_qwen3_moe};
}

}  // namespace moescope
