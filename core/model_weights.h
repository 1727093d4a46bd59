// The weights of a model, by role, as views into the memory-mapped checkpoint. Each family's file in
// core/arch/ says which tensor name fills which role; `bind_model_weights` checks that every tensor
// the architecture needs is present with the right shape before any compute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/model_config.h"

namespace moescope {

// A 2-D weight (out_features, in_features), optionally with F8 block scales.
struct WeightMatrix {
  const TensorView* weight = nullptr;     // (rows, cols)
  const TensorView* scale_inv = nullptr;  // (ceil(rows/128), ceil(cols/128)) for F8_E4M3, else null
  int64_t rows = 0;
  int64_t cols = 0;
  bool present() const { return weight != nullptr; }
};

struct Vector1D {
  const TensorView* weight = nullptr;  // (size)
  int64_t size = 0;
  bool present() const { return weight != nullptr; }
};

struct FeedForwardWeights {  // SwiGLU: down(silu(gate x) * up x)
  WeightMatrix gate;  // (width, hidden)
  WeightMatrix up;    // (width, hidden)
  WeightMatrix down;  // (hidden, width)
};

struct AttentionWeights {
  // GQA (Mixtral, Qwen3, DeepSeek-MoE 16B)
  WeightMatrix q_proj;  // (heads*qk_head_dim, hidden); also MLA without q-LoRA
  WeightMatrix k_proj;  // (kv_heads*head_dim, hidden)
  WeightMatrix v_proj;  // (kv_heads*head_dim, hidden)
  Vector1D q_norm;      // (head_dim) Qwen3
  Vector1D k_norm;      // (head_dim) Qwen3
  // MLA (DeepSeek V2/V3)
  WeightMatrix q_a_proj;            // (q_lora_rank, hidden)
  Vector1D q_a_norm;                // (q_lora_rank)
  WeightMatrix q_b_proj;            // (heads*qk_head_dim, q_lora_rank)
  WeightMatrix kv_a_proj_with_mqa;  // (kv_lora_rank + qk_rope_head_dim, hidden)
  Vector1D kv_a_norm;               // (kv_lora_rank)
  WeightMatrix kv_b_proj;           // (heads*(qk_nope_head_dim + v_head_dim), kv_lora_rank)
  WeightMatrix o_proj;              // (hidden, heads*value_head_dim)
};

struct LayerWeights {
  Vector1D input_norm;      // (hidden)
  Vector1D post_attn_norm;  // (hidden)
  AttentionWeights attention;
  FeedForwardWeights dense;                  // non-MoE layers
  WeightMatrix router;                       // (n_routed_experts, hidden)
  Vector1D router_bias;                      // (n_routed_experts) e_score_correction_bias, noaux_tc
  std::vector<FeedForwardWeights> experts;   // (n_routed_experts)
  FeedForwardWeights shared;                 // width n_shared_experts*moe_intermediate_size
  bool has_shared() const { return shared.gate.present(); }
};

struct ModelWeights {
  WeightMatrix embed_tokens;  // (vocab, hidden)
  Vector1D final_norm;        // (hidden)
  WeightMatrix lm_head;       // (vocab, hidden); the embedding when tied
  std::vector<LayerWeights> layers;
};

// Binds every role to its tensor, checking presence and shape; the InputError names the tensor,
// the expected shape and the file.
ModelWeights bind_model_weights(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace moescope
