// Expert selection from router logits, for every family's rule. Pure function over float32 arrays:
// the CPU engine's routing, and the reference the CUDA router kernel is checked against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/model_config.h"

namespace moescope {

struct RoutingOutput {
  std::span<float> scores;        // (n_tokens, n_experts) softmax or sigmoid of the logits
  std::span<int32_t> topk_ids;    // (n_tokens, top_k) best first
  std::span<float> topk_weights;  // (n_tokens, top_k) final combine weights
};

// Indices of the k largest values, best first; ties go to the lower index, as torch.topk does.
void top_k_indices(std::span<const float> values, int64_t k, std::vector<int32_t>& out);

// `correction_bias` (n_experts) is DeepSeek-V3's e_score_correction_bias (noaux_tc only, else empty).
void route_tokens(const ModelConfig& config, std::span<const float> router_logits, int64_t n_tokens,
                  std::span<const float> correction_bias, const RoutingOutput& out);

}  // namespace moescope
