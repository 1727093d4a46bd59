// One run's routing as dense arrays: what the sessions reader fills and every analysis function
// reads. Plain data, no behaviour beyond index helpers and a shape check, so analysis code stays
// pure functions over these buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace moescope::analysis {

// A slot no expert holds. Token choice fills every slot; expert choice (replay --apply --policy
// expert-choice) gives a token 0..top_k experts, its experts first (best first), then empty slots.
// Every analysis skips empty slots: a token with none is routed nowhere in that layer.
inline constexpr int32_t kNoExpert = -1;

struct RoutingArrays {
  int32_t n_tokens = 0;   // tokens of the run, prompt then generated, in position order
  int32_t n_layers = 0;   // MoE layers only (dense layers have no routing)
  int32_t n_experts = 0;  // routed experts per MoE layer (shared experts excluded)
  int32_t top_k = 0;
  std::vector<int32_t> layer_ids;        // (n_layers) the model's own index of each MoE layer
  std::vector<int32_t> topk_ids;         // (n_layers, n_tokens, top_k) chosen experts, best first; kNoExpert after them
  std::vector<float> topk_weights;       // (n_layers, n_tokens, top_k) final combine weights
  std::vector<float> scores;             // (n_layers, n_tokens, n_experts) softmax/sigmoid scores; may be empty
  std::vector<float> router_logits;      // (n_layers, n_tokens, n_experts) gate output; may be empty
  std::vector<int64_t> step_of_token;    // (n_tokens) forward step each token belongs to, non-decreasing
  std::vector<int32_t> token_ids;        // (n_tokens) vocabulary ids

  // Offsets into the buffers above.
  size_t topk_offset(int32_t layer, int32_t token) const {
    return (static_cast<size_t>(layer) * n_tokens + token) * top_k;
  }
  size_t score_offset(int32_t layer, int32_t token) const {
    return (static_cast<size_t>(layer) * n_tokens + token) * n_experts;
  }
  bool has_scores() const { return !scores.empty(); }
  bool has_router_logits() const { return !router_logits.empty(); }
};

// Throws InputError naming the first field whose size or values disagree with the dimensions
// (expert ids outside [0, n_experts) other than trailing kNoExpert slots, steps decreasing,
// top_k > n_experts, ...).
void validate(const RoutingArrays& arrays);

}  // namespace moescope::analysis
