#include "ui/routing_views.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "core/analysis/load_metrics.h"
#include "core/analysis/router_losses.h"

namespace moescope::ui {

RoutingSummary summarize_routing(const analysis::RoutingArrays& r) {
  RoutingSummary s;
  s.n_layers = r.n_layers;
  s.n_tokens = r.n_tokens;
  s.n_experts = r.n_experts;
  s.top_k = r.top_k;
  const size_t lt = static_cast<size_t>(r.n_layers) * r.n_tokens;
  s.top1.assign(lt, -1);
  s.expert_counts.assign(static_cast<size_t>(r.n_layers) * r.n_experts, 0);
  for (int32_t l = 0; l < r.n_layers; ++l) {
    int64_t* counts = s.expert_counts.data() + static_cast<size_t>(l) * r.n_experts;
    for (int32_t t = 0; t < r.n_tokens; ++t) {
      const int32_t* ids = r.topk_ids.data() + r.topk_offset(l, t);
      s.top1[static_cast<size_t>(l) * r.n_tokens + t] = ids[0];
      for (int32_t k = 0; k < r.top_k; ++k) {
        if (ids[k] != analysis::kNoExpert) ++counts[ids[k]];  // empty slots (expert choice) route nowhere
      }
    }
  }
  s.load_share.assign(s.expert_counts.size(), 0.0f);
  const double assignments = static_cast<double>(r.n_tokens) * r.top_k -
                             static_cast<double>(std::count(r.topk_ids.begin(), r.topk_ids.end(), analysis::kNoExpert));
  if (assignments > 0) {
    for (size_t i = 0; i < s.expert_counts.size(); ++i) {
      s.load_share[i] = static_cast<float>(static_cast<double>(s.expert_counts[i]) / assignments);
    }
  }
  return s;
}

std::vector<LayerBalance> layer_balance(const analysis::RoutingArrays& r, const RoutingSummary& s) {
  std::vector<LayerBalance> out(static_cast<size_t>(r.n_layers));
  std::vector<double> load(static_cast<size_t>(r.n_experts));
  for (int32_t l = 0; l < r.n_layers; ++l) {
    LayerBalance& b = out[static_cast<size_t>(l)];
    const int64_t* counts = s.expert_counts.data() + static_cast<size_t>(l) * r.n_experts;
    for (int32_t e = 0; e < r.n_experts; ++e) load[e] = static_cast<double>(counts[e]);
    b.cv = analysis::coefficient_of_variation(load);
    b.max_over_mean = analysis::max_over_mean(load);
    b.balancedness = analysis::balancedness(load);
    b.jain = analysis::jain_fairness(load);
    b.gini = analysis::gini(load);
    b.load_entropy = analysis::normalised_load_entropy(load);
    if (r.has_scores() && r.n_tokens > 0) {
      const size_t rows = static_cast<size_t>(r.n_tokens);
      const std::span<const float> scores(r.scores.data() + r.score_offset(l, 0), rows * r.n_experts);
      const std::span<const int32_t> ids(r.topk_ids.data() + r.topk_offset(l, 0), rows * r.top_k);
      b.switch_aux_loss = analysis::switch_aux_loss(scores, ids, r.n_tokens, r.n_experts, r.top_k);
      b.entropy = analysis::mean_token_entropy(scores, r.n_tokens, r.n_experts);
    }
  }
  return out;
}

}  // namespace moescope::ui
