// What every routing policy reads and writes for one MoE layer and one forward step. Policies are
// pure functions over these (state such as a running bias is an explicit argument), so the same
// code replays a recorded run (core/routing_policies/replay.h) and drives a live one (--apply).
#pragma once

#include <cstdint>
#include <span>

namespace moescope::routing_policies {

struct StepLogits {
  std::span<const float> router_logits;  // (n_tokens, n_experts) gate output before scoring
  int32_t n_tokens = 0;
  int32_t n_experts = 0;
  int64_t first_position = 0;          // position of the step's first token in its run
  std::span<const int32_t> token_ids;  // (n_tokens) vocabulary ids (hash routing reads them)
  int32_t layer_id = 0;                // the model's own layer index (seeds per-layer noise)
};

// A policy may give a token fewer experts than `width` (expert choice) or drop some (capacity):
// empty slots have id -1 and weight 0; dropped slots keep the expert they were refused by.
struct StepRouting {
  int32_t width = 0;
  std::span<int32_t> ids;      // (n_tokens, width) best first, -1 = empty
  std::span<float> weights;    // (n_tokens, width) combine weights
  std::span<uint8_t> dropped;  // (n_tokens, width) 1 = chosen but beyond its expert's capacity
};

inline constexpr int32_t kEmptySlot = -1;

}  // namespace moescope::routing_policies
