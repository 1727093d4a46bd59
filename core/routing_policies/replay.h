// Replaying a recorded run's router logits under a routing policy, and measuring the result against
// the routing the run actually had: load balance (the core/analysis catalogue's max_vio, CV, Gini),
// drops, top-1 agreement and the Jaccard overlap of each token's expert set.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/analysis/routing_arrays.h"
#include "core/routing_policies/policy_runner.h"

namespace moescope::routing_policies {

struct LayerReplay {  // one MoE layer of a run under the policy
  int32_t layer_id = 0;
  int32_t n_tokens = 0;
  int32_t width = 0;
  std::vector<int32_t> ids;      // (n_tokens, width) best first, -1 = empty
  std::vector<float> weights;    // (n_tokens, width)
  std::vector<uint8_t> dropped;  // (n_tokens, width)
};

// Every MoE layer, steps in run order (arrays.step_of_token). Needs arrays.router_logits: throws
// InputError naming `record --router-logits` when the run has none.
std::vector<LayerReplay> replay_run(const analysis::RoutingArrays& arrays, PolicyRunner& runner);

struct ReplayLayerMetrics {
  int32_t layer_id = 0;
  std::vector<double> expert_load;  // (n_experts) assignments each expert computes (drops excluded)
  double max_vio = 0.0;
  double cv = 0.0;
  double gini = 0.0;
  int64_t assignments = 0;  // chosen (token, expert) pairs, dropped ones included
  int64_t dropped = 0;
  double drop_rate = 0.0;       // dropped / assignments
  double top1_agreement = 0.0;  // share of tokens whose best computed expert is the recorded top-1
  double jaccard = 0.0;         // mean over tokens of |computed set ∩ recorded set| / |union|
  int64_t tokens_changed = 0;   // tokens whose computed set differs from the recorded set
  int64_t tokens_unrouted = 0;  // tokens no expert computes (all dropped, or picked by none)
};

// `layer` indexes arrays.layer_ids; `replay` is that layer's replay.
ReplayLayerMetrics replay_metrics(const analysis::RoutingArrays& recorded, int32_t layer,
                                  const LayerReplay& replay);

// {"policy", "layers": [{"layer", "max_vio", "cv", "gini", "drop_rate", "dropped", "top1_agreement",
// "jaccard", "tokens_changed", "tokens_unrouted"}]}; "layer" is the model's layer index.
nlohmann::json replay_json(const std::string& policy, const std::vector<ReplayLayerMetrics>& layers);

}  // namespace moescope::routing_policies
