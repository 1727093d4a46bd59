// Per-run arrays the views draw, derived once from RoutingArrays and cached by run revision, so
// building a frame never walks the full routing. GL- and ImGui-free: the frame-time benchmark and
// the unit tests use them directly.
#pragma once

#include <cstdint>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::ui {

struct RoutingSummary {
  int32_t n_layers = 0, n_tokens = 0, n_experts = 0, top_k = 0;
  std::vector<int32_t> top1;           // (n_layers, n_tokens) best expert of each token
  std::vector<int64_t> expert_counts;  // (n_layers, n_experts) top-k assignments
  std::vector<float> load_share;       // (n_layers, n_experts) counts / (n_tokens * top_k)
};
RoutingSummary summarize_routing(const analysis::RoutingArrays& routing);

// Per-layer balance figures the load-balance view lists, from core/analysis (docs/metrics.md
// has each formula and its uniform baseline).
struct LayerBalance {
  double cv = 0;             // coefficient_of_variation of the counts; 0 at balance
  double max_over_mean = 0;  // 1 at balance
  double balancedness = 0;   // mean / max as SGLang logs it; 1 at balance
  double jain = 0;           // Jain's fairness; 1 at balance
  double gini = 0;           // 0 at balance
  double switch_aux_loss = 0;  // Switch form E * sum_e f_e * P_e; 1 at balance (0 without scores)
  double entropy = 0;        // mean per-token entropy of the scores, nats (0 without scores)
  double load_entropy = 0;   // entropy of the load share / log E; 1 at balance
};
std::vector<LayerBalance> layer_balance(const analysis::RoutingArrays& routing, const RoutingSummary& summary);

}  // namespace moescope::ui
