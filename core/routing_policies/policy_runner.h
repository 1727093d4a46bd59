// A routing policy chosen by name with its options, applied step by step to the MoE layers of one
// run. It carries the state a policy keeps across steps (aux-free-bias's per-layer bias), so steps
// must come in run order, per layer. Used by `moescope replay` on recorded logits and, as the
// engine's routing override, by `replay --apply` on live ones.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/routing_override.h"
#include "core/routing_policies/policies.h"

namespace moescope {
struct Model;
}

namespace moescope::routing_policies {

enum class PolicyKind : uint8_t {
  topk,
  switch_top1,
  noisy_topk,
  capacity,
  expert_choice,
  balanced_assignment,
  aux_free_bias,
  group_limited,
  hash,
};

std::string policy_name(PolicyKind kind);  // as the CLI spells it: "topk", "expert-choice", ...
// InputError listing the policies for an unknown name.
PolicyKind parse_policy(const std::string& name);
std::vector<std::string> policy_names();

struct PolicyOptions {
  PolicyKind kind = PolicyKind::topk;
  int32_t k = 0;  // experts per token; 0 = the policy's default (the model's top_k; 1 for switch, BASE, hash)
  double noise_std = 1.0;
  uint64_t seed = 0;
  double capacity_factor = 1.0;
  CapacityPriority priority = CapacityPriority::position;
  BalancedSolver solver = BalancedSolver::auction;
  double bias_rate = 1e-3;
  int32_t groups = 0;       // group-limited: 0 = the model's n_group
  int32_t topk_groups = 0;  // group-limited: 0 = the model's topk_group
};

// A model's e_score_correction_bias per MoE layer id (empty for models without one).
std::map<int32_t, std::vector<float>> correction_biases(const Model& model);

class PolicyRunner final : public RoutingOverride {
 public:
  // `correction_bias`: the model's e_score_correction_bias per MoE layer id (noaux_tc models; empty
  // otherwise). Throws InputError for options the policy or model cannot take.
  PolicyRunner(const ModelConfig& config, const PolicyOptions& options,
               std::map<int32_t, std::vector<float>> correction_bias = {});

  const PolicyOptions& options() const { return options_; }
  int32_t width() const override { return width_; }
  int32_t k() const { return k_; }
  void route(const StepLogits& in, const StepRouting& out) override;

 private:
  std::span<const float> model_bias(int32_t layer_id) const;

  ModelConfig config_;
  PolicyOptions options_;
  int32_t k_ = 0;
  int32_t width_ = 0;
  std::map<int32_t, std::vector<float>> correction_bias_;
  std::map<int32_t, std::vector<float>> running_bias_;  // aux-free-bias state per layer id
};

}  // namespace moescope::routing_policies
