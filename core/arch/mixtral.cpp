// Mixtral (mistralai/Mixtral-8x7B): GQA attention, every layer MoE, softmax over all experts then
// the top-k weights renormalised.
#include "core/arch/config_keys.h"
#include "core/arch/registry.h"

namespace moescope {

namespace {

void parse_mixtral(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  c.intermediate_size = read_dim(json, "intermediate_size", file_label);
  c.moe_intermediate_size = c.intermediate_size;
  c.n_routed_experts = read_dim(json, "num_local_experts", file_label, -1, 1 << 16);
  c.top_k = read_dim(json, "num_experts_per_tok", file_label, -1, c.n_routed_experts);
  c.scoring = ScoringFunc::softmax;
  c.topk_method = TopkMethod::greedy;
  c.norm_topk_prob = true;
  c.layer_is_moe.assign(static_cast<size_t>(c.num_layers), true);
}

}  // namespace

ArchEntry mixtral_arch() {
  return {"mixtral", Family::mixtral, {"block_sparse_moe", "w1", "w3", "w2"}, parse_mixtral};
}

}  // namespace moescope
