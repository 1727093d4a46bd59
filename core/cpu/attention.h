// Causal self-attention with a KV cache: GQA (Mixtral, Qwen3, DeepSeek-MoE) and multi-head latent
// attention (DeepSeek V2/V3). The reference keeps the cache expanded per head: clarity over memory.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cpu/ops.h"

namespace moescope::cpu {

struct KvCache {
  int64_t n_kv_heads = 0;
  int64_t k_dim = 0;  // per head
  int64_t v_dim = 0;
  std::vector<float> k;  // (positions, n_kv_heads, k_dim), rotary part already rotated
  std::vector<float> v;  // (positions, n_kv_heads, v_dim)
  void reserve_positions(int64_t positions);
};

// x_norm (n, hidden) at positions first_position.., appends to `cache`, writes out (n, hidden).
void attention_forward(ThreadPool& pool, const ModelConfig& config, const AttentionWeights& weights,
                       const RopeTable& rope, const float* x_norm, int64_t n, int64_t first_position,
                       KvCache& cache, float* out);

}  // namespace moescope::cpu
