// SwiGLU feed-forward blocks and the routed MoE layer of the CPU reference engine.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/cpu/ops.h"
#include "core/observer.h"

namespace moescope::cpu {

// out (n, hidden) = down(silu(gate x) * up x), x (n, hidden).
void swiglu_forward(ThreadPool& pool, const FeedForwardWeights& w, const float* x, int64_t n, float* out);

struct MoeRouting {  // one layer, one forward step
  std::vector<float> router_logits;  // (n, experts)
  std::vector<float> scores;         // (n, experts)
  std::vector<int32_t> topk_ids;     // (n, k)
  std::vector<float> topk_weights;   // (n, k)
  std::vector<uint8_t> dropped;      // (n, k) when capacity is enforced, else empty
};

using PhaseClock = std::function<void(Phase phase, double start_us, double duration_us)>;

// Routed experts plus shared experts. `enforce_capacity_factor` > 0 drops overflowing assignments
// (token order) from the output. Fills `routing`, writes out (n, hidden), reports phases.
void moe_forward(ThreadPool& pool, const ModelConfig& config, const LayerWeights& weights, const float* x,
                 int64_t n, double enforce_capacity_factor, MoeRouting& routing, float* out,
                 const PhaseClock& clock);

}  // namespace moescope::cpu
