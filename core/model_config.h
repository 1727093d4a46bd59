// The architecture-independent description of a MoE model, parsed from config.json. Each family's
// own keys are read by its file in core/arch/, registered in a table (core/arch/registry.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moescope {

enum class Family : uint8_t { mixtral, deepseek_v1, deepseek_v2, deepseek_v3, qwen3_moe };
enum class ScoringFunc : uint8_t { softmax, sigmoid };
// greedy: plain top-k. group_limited_greedy: experts split into n_group groups, keep the topk_group
// groups with the highest max score, top-k among them. noaux_tc: groups ranked by the sum of their
// two best bias-corrected scores, top-k on bias-corrected scores, weights from uncorrected scores.
enum class TopkMethod : uint8_t { greedy, group_limited_greedy, noaux_tc };
enum class RopeType : uint8_t { none, linear, yarn };

struct RopeScaling {
  RopeType type = RopeType::none;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

struct ModelConfig {
  std::string model_type;  // as in config.json
  Family family = Family::mixtral;

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  int32_t bos_token_id = -1;
  int32_t eos_token_id = -1;

  // Attention. GQA families use head_dim; MLA (DeepSeek V2/V3) uses the lora/rope/nope dims.
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  bool qk_norm = false;  // Qwen3: per-head RMSNorm on q and k
  bool use_mla = false;
  int64_t q_lora_rank = 0;  // 0: q_proj directly (V2-Lite)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  // Feed-forward.
  int64_t intermediate_size = 0;      // dense layers
  int64_t moe_intermediate_size = 0;  // each routed expert
  int64_t n_routed_experts = 0;
  int64_t n_shared_experts = 0;  // shared expert width = n_shared_experts * moe_intermediate_size
  int64_t top_k = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  ScoringFunc scoring = ScoringFunc::softmax;
  TopkMethod topk_method = TopkMethod::greedy;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  std::vector<bool> layer_is_moe;  // (num_layers)

  bool is_moe_layer(int64_t layer) const { return layer_is_moe.at(static_cast<size_t>(layer)); }
  std::vector<int32_t> moe_layers() const;
  // Per-head query/key width: head_dim for GQA, qk_nope_head_dim + qk_rope_head_dim for MLA.
  int64_t qk_head_dim() const;
  int64_t value_head_dim() const;
  // Softmax scale of attention, including YaRN's mscale correction where it applies.
  double attention_scale() const;
};

// Reads and validates config.json; unknown model_type -> InputError listing the supported ones.
ModelConfig load_model_config(const std::filesystem::path& config_json);
ModelConfig parse_model_config(const std::string& json_text, const std::string& file_label);

std::string family_name(Family family);

}  // namespace moescope
