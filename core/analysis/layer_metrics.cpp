#include "core/analysis/layer_metrics.h"

#include <cmath>
#include <cstdio>

#include "core/analysis/ep_placement.h"
#include "core/analysis/experts_touched.h"
#include "core/analysis/load_metrics.h"
#include "core/analysis/router_losses.h"
#include "core/analysis/stats.h"
#include "core/error.h"

namespace moescope::analysis {
namespace {

std::string drop_key(double capacity_factor) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "drop_rate@%g", capacity_factor);
  return buf;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void validate_options(const MetricsOptions& o) {
  if (o.ep_degree < 1) fail_input("metrics: EP degree must be >= 1, got " + std::to_string(o.ep_degree));
}

// Assumes `a` and `o` were validated.
LayerMetrics layer_metrics(const RoutingArrays& a, int32_t layer, const MetricsOptions& o,
                           const std::vector<int32_t>& predicted_ids) {
  LayerMetrics m;
  m.layer = layer;
  m.layer_id = a.layer_ids[layer];
  m.n_tokens = a.n_tokens;
  m.n_experts = a.n_experts;
  m.top_k = a.top_k;
  m.expert_load = expert_load(a, layer);
  m.balancedness = balancedness(m.expert_load);
  m.max_vio = max_vio(m.expert_load);
  m.max_over_mean = max_over_mean(m.expert_load);
  m.cv = coefficient_of_variation(m.expert_load);
  m.gini = gini(m.expert_load);
  m.jain = jain_fairness(m.expert_load);
  m.load_entropy = normalised_load_entropy(m.expert_load);
  if (o.ep_degree > 1) {
    const ExpertPlacement placement = o.expert_to_rank.empty() ? contiguous_placement(a.n_experts, o.ep_degree)
                                                               : placement_from_map(o.expert_to_rank, o.ep_degree);
    m.rank_balancedness = balancedness(rank_load(m.expert_load, placement));
  }

  const size_t rows = static_cast<size_t>(a.n_tokens);
  const std::span<const int32_t> ids(a.topk_ids.data() + a.topk_offset(layer, 0), rows * a.top_k);
  std::vector<float> probs;
  if (a.has_router_logits()) {
    const std::span<const float> logits(a.router_logits.data() + a.score_offset(layer, 0), rows * a.n_experts);
    m.z_loss = router_z_loss(logits, a.n_tokens, a.n_experts);
    probs = softmax_rows(logits, a.n_tokens, a.n_experts);
  } else if (a.has_scores()) {
    probs.assign(a.scores.begin() + a.score_offset(layer, 0), a.scores.begin() + a.score_offset(layer + 1, 0));
  }
  if (!probs.empty() && a.n_tokens > 0) {
    m.switch_aux_loss = switch_aux_loss(probs, ids, a.n_tokens, a.n_experts, a.top_k);
    m.aux_loss = transformers_aux_loss(probs, ids, a.n_tokens, a.n_experts, a.top_k);
  }
  if (a.n_tokens > 0) {
    if (a.has_scores()) {
      m.token_entropy = mean_token_entropy(
          std::span(a.scores.data() + a.score_offset(layer, 0), rows * a.n_experts), a.n_tokens, a.n_experts);
    } else if (!probs.empty()) {
      m.token_entropy = mean_token_entropy(probs, a.n_tokens, a.n_experts);
    }
    if (m.z_loss && !std::isfinite(*m.z_loss)) m.z_loss.reset();
  }

  const ExpertsTouched touched = experts_touched(a, layer);
  m.experts_touched = touched.mean_touched;
  m.experts_touched_uniform = touched.mean_expected_uniform;
  const int64_t n_assign = static_cast<int64_t>(rows) * a.top_k;
  for (double c : o.capacity_factors) {
    DropRate d;
    d.capacity_factor = c;
    d.dropped = layer_dropped(a, layer, c, o.overflow_order);
    d.rate = n_assign > 0 ? static_cast<double>(d.dropped) / n_assign : 0.0;
    m.drop_rates.push_back(d);
  }
  m.repetition = consecutive_repetition(a, layer);
  m.vocab_input = vocabulary_specialisation(a, layer, a.token_ids, o.vocab_min_count);
  m.vocab_predicted = vocabulary_specialisation(a, layer, predicted_ids, o.vocab_min_count);
  if (layer + 1 < a.n_layers) m.to_next_layer = layer_transition(a, layer);
  return m;
}

}  // namespace

LayerMetrics compute_layer_metrics(const RoutingArrays& a, int32_t layer, const MetricsOptions& o) {
  validate(a);
  validate_options(o);
  if (layer < 0 || layer >= a.n_layers) {
    fail_input("layer metrics: layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(a.n_layers) + ")");
  }
  return layer_metrics(a, layer, o, next_token_ids(a));
}

RunMetrics compute_run_metrics(const RoutingArrays& a, const MetricsOptions& o) {
  validate(a);
  validate_options(o);
  RunMetrics run;
  const std::vector<int32_t> predicted = next_token_ids(a);
  for (int32_t l = 0; l < a.n_layers; ++l) run.layers.push_back(layer_metrics(a, l, o, predicted));

  const int64_t rows = static_cast<int64_t>(a.n_layers) * a.n_tokens;
  if (rows > 0 && (a.has_router_logits() || a.has_scores())) {
    const std::vector<float> probs = a.has_router_logits() ? softmax_rows(a.router_logits, rows, a.n_experts) : a.scores;
    run.aux_loss_all_layers = transformers_aux_loss(probs, a.topk_ids, rows, a.n_experts, a.top_k);
  }

  if (!run.layers.empty()) {
    const auto keys = scalar_metrics(run.layers.front());
    for (const auto& [key, ignored] : keys) {
      std::vector<double> values;
      for (const LayerMetrics& m : run.layers) {
        for (const auto& [k, v] : scalar_metrics(m)) {
          if (k == key) values.push_back(v);
        }
      }
      run.percentiles.push_back({key, percentile(values, 50), percentile(values, 75), percentile(values, 90),
                                 percentile(values, 95)});
    }
  }
  return run;
}

std::vector<std::pair<std::string, double>> scalar_metrics(const LayerMetrics& m) {
  std::vector<std::pair<std::string, double>> out = {
      {"balancedness", m.balancedness},
  };
  if (m.rank_balancedness) out.emplace_back("rank_balancedness", *m.rank_balancedness);
  out.insert(out.end(), {{"max_vio", m.max_vio},
                         {"max_over_mean", m.max_over_mean},
                         {"cv", m.cv},
                         {"gini", m.gini},
                         {"jain", m.jain},
                         {"load_entropy", m.load_entropy}});
  if (m.token_entropy) out.emplace_back("token_entropy", *m.token_entropy);
  if (m.switch_aux_loss) out.emplace_back("switch_aux_loss", *m.switch_aux_loss);
  if (m.aux_loss) out.emplace_back("aux_loss", *m.aux_loss);
  if (m.z_loss) out.emplace_back("z_loss", *m.z_loss);
  out.emplace_back("experts_touched", m.experts_touched);
  out.emplace_back("experts_touched_uniform", m.experts_touched_uniform);
  for (const DropRate& d : m.drop_rates) out.emplace_back(drop_key(d.capacity_factor), d.rate);
  out.emplace_back("repetition_top1", m.repetition.same_top1);
  out.emplace_back("repetition_any", m.repetition.shares_any);
  out.emplace_back("vocab_spec_input", m.vocab_input.mean_specialisation);
  out.emplace_back("vocab_spec_predicted", m.vocab_predicted.mean_specialisation);
  if (m.to_next_layer) {
    out.emplace_back("next_layer_predictability", m.to_next_layer->top1_predictability);
    out.emplace_back("next_layer_nmi", m.to_next_layer->normalised_mutual_information);
  }
  return out;
}

nlohmann::json to_json(const LayerMetrics& m) {
  nlohmann::json j;
  j["layer"] = m.layer;
  j["layer_id"] = m.layer_id;
  j["n_tokens"] = m.n_tokens;
  j["n_experts"] = m.n_experts;
  j["top_k"] = m.top_k;
  j["expert_load"] = m.expert_load;
  for (const auto& [key, value] : scalar_metrics(m)) {
    if (key.rfind("drop_rate@", 0) != 0) j[key] = number(value);
  }
  nlohmann::json drops = nlohmann::json::array();
  for (const DropRate& d : m.drop_rates) {
    drops.push_back({{"capacity_factor", d.capacity_factor}, {"dropped", d.dropped}, {"rate", number(d.rate)}});
  }
  j["drop_rate"] = drops;
  j["repetition_pairs"] = m.repetition.n_pairs;
  j["repetition_top1_baseline"] = number(m.repetition.baseline_top1);
  j["repetition_any_baseline"] = number(m.repetition.baseline_any);
  j["vocab_spec_input_ids"] = m.vocab_input.n_ids;
  j["vocab_spec_predicted_ids"] = m.vocab_predicted.n_ids;
  if (m.to_next_layer) j["next_layer_id"] = m.to_next_layer->to_layer;
  return j;
}

nlohmann::json to_json(const RunMetrics& r) {
  nlohmann::json j;
  j["layers"] = nlohmann::json::array();
  for (const LayerMetrics& m : r.layers) j["layers"].push_back(to_json(m));
  j["aux_loss_all_layers"] = r.aux_loss_all_layers ? number(*r.aux_loss_all_layers) : nlohmann::json(nullptr);
  nlohmann::json p = nlohmann::json::object();
  for (const MetricPercentiles& q : r.percentiles) {
    p[q.key] = {{"p50", number(q.p50)}, {"p75", number(q.p75)}, {"p90", number(q.p90)}, {"p95", number(q.p95)}};
  }
  j["percentiles"] = p;
  return j;
}

}  // namespace moescope::analysis
