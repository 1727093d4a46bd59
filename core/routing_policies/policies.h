// The routing policies of the MoE literature as pure functions over one MoE layer's router logits
// for one forward step (policy_step.h). One file per policy; docs/routing_policies.md says what each
// is and where it comes from. `k` is the experts per token a policy aims for.
#pragma once

#include <cstdint>
#include <span>

#include "core/model_config.h"
#include "core/routing_policies/policy_step.h"

namespace moescope::routing_policies {

// The model's own rule (core/routing.cpp: scoring function, correction bias, group limits,
// renormalisation, routed_scaling_factor) with k experts per token. With k = config.top_k and the
// model's correction bias it is exactly the routing the engines run. out.width == k.
void route_topk(const ModelConfig& config, int32_t k, std::span<const float> correction_bias,
                const StepLogits& in, const StepRouting& out);

// Switch Transformer (Fedus et al. 2022): softmax over all experts, the best one, weighted by its
// probability. out.width == 1.
void route_switch(const StepLogits& in, const StepRouting& out);

// Noisily gated top-k (Shazeer et al. 2017): H = logits + noise_std * N(0, 1), keep the k largest,
// weights softmax over the kept H. The noise is a pure function of (seed, layer, position, expert),
// so a replay and a live run see the same draws. out.width == k.
void route_noisy_topk(int32_t k, double noise_std, uint64_t seed, const StepLogits& in,
                      const StepRouting& out);

enum class CapacityPriority : uint8_t {
  position,  // earlier tokens keep their slot (Switch / GShard dispatch)
  score,     // higher combine weight keeps its slot (batch priority routing, Riquelme et al. 2021)
};
// Token choice under a capacity: the model's rule with k experts, then each expert keeps at most
// ceil(C * T * k / E) assignments of the step; the rest are marked dropped. out.width == k.
void route_capacity(const ModelConfig& config, int32_t k, std::span<const float> correction_bias,
                    double capacity_factor, CapacityPriority priority, const StepLogits& in,
                    const StepRouting& out);

// Expert choice (Zhou et al. 2022): S = softmax of the logits over experts; each expert takes the
// min(T, ceil(C * T * k / E)) tokens of the step with the highest S (ties to the earlier token),
// weighted by S. A token may get 0..E experts. out.width == n_experts.
void route_expert_choice(int32_t k, double capacity_factor, const StepLogits& in, const StepRouting& out);

enum class BalancedSolver : uint8_t { auction, sinkhorn };
// BASE layers (Lewis et al. 2021): each token gets exactly one expert and every expert the same
// number of tokens (floor(T/E), plus one for the T mod E experts most tokens rank first), chosen to
// maximise the summed logits: an auction (Bertsekas) or Sinkhorn iterations followed by a capacity-
// respecting greedy rounding. Weight sigmoid(logit), as BASE's output gate. out.width == 1.
void route_balanced_assignment(BalancedSolver solver, const StepLogits& in, const StepRouting& out);

// Auxiliary-loss-free balancing (Wang et al. 2024; DeepSeek-V3): the model's rule with a per-expert
// bias added for selection only; after the step each bias moves by bias_rate toward balance
// (b_e += rate * sign(mean load - c_e)). `bias` (n_experts) is the state, updated in place.
void route_aux_free_bias(const ModelConfig& config, int32_t k, double bias_rate, std::span<float> bias,
                         const StepLogits& in, const StepRouting& out);

// Group-limited (device-limited) routing (DeepSeek-V2; V3 with node limits): experts in `groups`
// equal contiguous groups, the `topk_groups` groups with the best score kept (V2: the group's best
// score; for a noaux_tc model, V3's sum of its two best bias-corrected scores), top-k inside them.
void route_group_limited(const ModelConfig& config, int32_t k, int32_t groups, int32_t topk_groups,
                         std::span<const float> correction_bias, const StepLogits& in,
                         const StepRouting& out);

// Hash layers (Roller et al. 2021): k distinct experts from a fixed random hash of the token id,
// each with weight 1/k; content-blind. out.width == k.
void route_hash(int32_t k, uint64_t seed, const StepLogits& in, const StepRouting& out);

}  // namespace moescope::routing_policies
