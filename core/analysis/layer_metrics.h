// The per-layer metric catalogue in one struct, its percentiles across layers (Megatron-LM's
// balance logging asks for p50/p75/p90/p95), and the JSON that `moescope report --json` prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/analysis/capacity.h"
#include "core/analysis/routing_arrays.h"
#include "core/analysis/token_routing.h"

namespace moescope::analysis {

struct MetricsOptions {
  std::vector<double> capacity_factors = {std::begin(kDefaultCapacityFactors), std::end(kDefaultCapacityFactors)};
  OverflowOrder overflow_order = OverflowOrder::token_order;
  int32_t ep_degree = 1;                // > 1: also balancedness over EP rank totals
  std::vector<int32_t> expert_to_rank;  // (n_experts); empty = contiguous placement
  int32_t vocab_min_count = 5;          // OLMoE counts ids seen at least 5 times
};

struct DropRate {
  double capacity_factor = 1.0;
  int64_t dropped = 0;
  double rate = 0.0;
};

struct LayerMetrics {
  int32_t layer = 0;     // index into the MoE layers
  int32_t layer_id = 0;  // the model's own layer index
  int32_t n_tokens = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  std::vector<double> expert_load;  // (n_experts) c_e
  double balancedness = 1.0;
  std::optional<double> rank_balancedness;  // when ep_degree > 1
  double max_vio = 0.0;
  double max_over_mean = 1.0;
  double cv = 0.0;
  double gini = 0.0;
  double jain = 1.0;
  double load_entropy = 1.0;
  // Router-side metrics need the recorded scores or logits. Probabilities for the auxiliary
  // losses are softmax(router_logits), as transformers recomputes them, or the scores when the
  // logits were not recorded; the chosen experts are the recorded top-k.
  std::optional<double> token_entropy;
  std::optional<double> switch_aux_loss;
  std::optional<double> aux_loss;
  std::optional<double> z_loss;
  double experts_touched = 0.0;          // mean per forward step
  double experts_touched_uniform = 0.0;  // its uniform expectation
  std::vector<DropRate> drop_rates;      // one per configured capacity factor
  Repetition repetition;
  VocabularySpecialisation vocab_input;
  VocabularySpecialisation vocab_predicted;
  std::optional<LayerTransition> to_next_layer;  // absent for the last MoE layer
};

LayerMetrics compute_layer_metrics(const RoutingArrays& arrays, int32_t layer, const MetricsOptions& options = {});

struct MetricPercentiles {
  std::string key;  // LayerMetrics JSON key, e.g. "max_vio" or "drop_rate@1.25"
  double p50 = 0.0, p75 = 0.0, p90 = 0.0, p95 = 0.0;
};

struct RunMetrics {
  std::vector<LayerMetrics> layers;  // (n_layers)
  // transformers' loss over all layers concatenated, exactly what the training code returns.
  std::optional<double> aux_loss_all_layers;
  std::vector<MetricPercentiles> percentiles;  // across layers, one per scalar metric
};

RunMetrics compute_run_metrics(const RoutingArrays& arrays, const MetricsOptions& options = {});

// (key, value) of every scalar per-layer metric, absent optionals left out; drop rates as
// "drop_rate@<C>". The order is the catalogue's.
std::vector<std::pair<std::string, double>> scalar_metrics(const LayerMetrics& metrics);

// NaN becomes null; keys as in metric_catalogue().
nlohmann::json to_json(const LayerMetrics& metrics);
nlohmann::json to_json(const RunMetrics& metrics);

}  // namespace moescope::analysis
