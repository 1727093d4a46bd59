// SwiGLU feed-forward blocks and the routed MoE layer of the CPU reference engine.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/cpu/ops.h"
#include "core/observer.h"
#include "core/routing_override.h"

namespace moescope::cpu {

// out (n, hidden) = down(silu(gate x) * up x), x (n, hidden).
void swiglu_forward(ThreadPool& pool, const FeedForwardWeights& w, const float* x, int64_t n, float* out);

struct MoeRouting {  // one layer, one forward step; k = the model's top_k, or the override's width
  std::vector<float> router_logits;  // (n, experts)
  std::vector<float> scores;         // (n, experts)
  std::vector<int32_t> topk_ids;     // (n, k); -1 = an empty slot (only under a routing override)
  std::vector<float> topk_weights;   // (n, k)
  std::vector<uint8_t> dropped;      // (n, k) when capacity is enforced or the override drops, else empty
  int64_t k = 0;
};

// Who picks the experts when not the model's rule: the override and where the step is.
struct ForcedRouting {
  RoutingOverride* routing_override = nullptr;
  std::span<const int32_t> token_ids;  // (n) the step's tokens
  int64_t first_position = 0;
  int32_t layer = 0;
};

using PhaseClock = std::function<void(Phase phase, double start_us, double duration_us)>;

// Routed experts plus shared experts. `enforce_capacity_factor` > 0 drops overflowing assignments
// (token order) from the output. Fills `routing`, writes out (n, hidden), reports phases.
// With forced.routing_override set, it picks the experts from the live router logits instead.
void moe_forward(ThreadPool& pool, const ModelConfig& config, const LayerWeights& weights, const float* x,
                 int64_t n, double enforce_capacity_factor, const ForcedRouting& forced, MoeRouting& routing,
                 float* out, const PhaseClock& clock);

}  // namespace moescope::cpu
