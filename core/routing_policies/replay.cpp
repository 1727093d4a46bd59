#include "core/routing_policies/replay.h"

#include <algorithm>

#include "core/analysis/load_metrics.h"
#include "core/error.h"

namespace moescope::routing_policies {

std::vector<LayerReplay> replay_run(const analysis::RoutingArrays& a, PolicyRunner& runner) {
  analysis::validate(a);
  if (!a.has_router_logits())
    fail_input(
        "this run has no stored router logits: record it with `moescope record --router-logits` (or "
        "`run --router-logits`) to replay it");
  std::vector<LayerReplay> layers;
  const int32_t width = runner.width();
  for (int32_t l = 0; l < a.n_layers; ++l) {
    LayerReplay out;
    out.layer_id = a.layer_ids[l];
    out.n_tokens = a.n_tokens;
    out.width = width;
    const size_t slots = static_cast<size_t>(a.n_tokens) * width;
    out.ids.assign(slots, kEmptySlot);
    out.weights.assign(slots, 0.0f);
    out.dropped.assign(slots, 0);
    // One forward step at a time: a run's tokens are grouped by step, steps non-decreasing.
    for (int32_t first = 0; first < a.n_tokens;) {
      int32_t end = first;
      while (end < a.n_tokens && a.step_of_token[end] == a.step_of_token[first]) ++end;
      const int32_t n = end - first;
      StepLogits in{
          std::span(a.router_logits).subspan(a.score_offset(l, first), static_cast<size_t>(n) * a.n_experts),
          n,
          a.n_experts,
          first,
          std::span(a.token_ids).subspan(first, n),
          out.layer_id};
      const size_t at = static_cast<size_t>(first) * width, count = static_cast<size_t>(n) * width;
      runner.route(in,
                   {width, std::span(out.ids).subspan(at, count), std::span(out.weights).subspan(at, count),
                    std::span(out.dropped).subspan(at, count)});
      first = end;
    }
    layers.push_back(std::move(out));
  }
  return layers;
}

ReplayLayerMetrics replay_metrics(const analysis::RoutingArrays& a, int32_t layer, const LayerReplay& r) {
  ReplayLayerMetrics m;
  m.layer_id = r.layer_id;
  m.expert_load.assign(static_cast<size_t>(a.n_experts), 0.0);
  double jaccard_sum = 0.0;
  int64_t top1_same = 0;
  std::vector<int32_t> computed, recorded, common;
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    computed.clear();
    int32_t best = kEmptySlot;  // slots are best first, so the first computed one
    for (int32_t j = 0; j < r.width; ++j) {
      const size_t slot = static_cast<size_t>(t) * r.width + j;
      const int32_t e = r.ids[slot];
      if (e == kEmptySlot) continue;
      ++m.assignments;
      if (r.dropped[slot]) {
        ++m.dropped;
        continue;
      }
      m.expert_load[e] += 1.0;
      computed.push_back(e);
      if (best == kEmptySlot) best = e;
    }
    const int32_t* ids = a.topk_ids.data() + a.topk_offset(layer, t);
    recorded.assign(ids, ids + a.top_k);
    if (best == ids[0]) ++top1_same;
    if (computed.empty()) ++m.tokens_unrouted;
    std::sort(computed.begin(), computed.end());
    std::sort(recorded.begin(), recorded.end());
    common.clear();
    std::set_intersection(computed.begin(), computed.end(), recorded.begin(), recorded.end(),
                          std::back_inserter(common));
    const size_t union_size = computed.size() + recorded.size() - common.size();
    jaccard_sum += union_size ? static_cast<double>(common.size()) / static_cast<double>(union_size) : 1.0;
    if (computed != recorded) ++m.tokens_changed;
  }
  m.max_vio = analysis::max_vio(m.expert_load);
  m.cv = analysis::coefficient_of_variation(m.expert_load);
  m.gini = analysis::gini(m.expert_load);
  m.drop_rate = m.assignments ? static_cast<double>(m.dropped) / static_cast<double>(m.assignments) : 0.0;
  m.top1_agreement = r.n_tokens ? static_cast<double>(top1_same) / r.n_tokens : 1.0;
  m.jaccard = r.n_tokens ? jaccard_sum / r.n_tokens : 1.0;
  return m;
}

nlohmann::json replay_json(const std::string& policy, const std::vector<ReplayLayerMetrics>& layers) {
  nlohmann::json out{{"policy", policy}, {"layers", nlohmann::json::array()}};
  for (const auto& m : layers)
    out["layers"].push_back({{"layer", m.layer_id},
                             {"max_vio", m.max_vio},
                             {"cv", m.cv},
                             {"gini", m.gini},
                             {"drop_rate", m.drop_rate},
                             {"dropped", m.dropped},
                             {"top1_agreement", m.top1_agreement},
                             {"jaccard", m.jaccard},
                             {"tokens_changed", m.tokens_changed},
                             {"tokens_unrouted", m.tokens_unrouted}});
  return out;
}

}  // namespace moescope::routing_policies
