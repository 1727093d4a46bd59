// Focus: the whole per-layer catalogue in one call — property values on perfectly uniform
// routing, a hand-worked skewed layer, percentiles across layers, the JSON form `moescope report
// --json` prints, and that every reported key is described in the metric catalogue.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/analysis/layer_metrics.h"
#include "core/analysis/metric_catalogue.h"
#include "core/analysis/stats.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// 1. Uniform routing (E=8, k=2, 16 tokens in one step, equal scores, zero logits): the baselines.
TEST(AnalysisLayerMetrics, UniformRoutingHitsEveryBaseline) {
  const auto a = test::make_uniform_routing(8, 2, 16, 3);
  const LayerMetrics m = compute_layer_metrics(a, 1);
  EXPECT_EQ(m.layer_id, 1);
  EXPECT_DOUBLE_EQ(m.balancedness, 1.0);
  EXPECT_DOUBLE_EQ(m.max_vio, 0.0);
  EXPECT_DOUBLE_EQ(m.jain, 1.0);
  EXPECT_DOUBLE_EQ(m.gini, 0.0);
  EXPECT_DOUBLE_EQ(m.cv, 0.0);
  EXPECT_NEAR(m.load_entropy, 1.0, 1e-12);
  ASSERT_TRUE(m.aux_loss && m.switch_aux_loss && m.z_loss && m.token_entropy);
  EXPECT_NEAR(*m.aux_loss, 2.0, 1e-6);
  EXPECT_NEAR(*m.switch_aux_loss, 1.0, 1e-6);
  EXPECT_NEAR(*m.z_loss, std::log(8.0) * std::log(8.0), 1e-5);
  EXPECT_NEAR(*m.token_entropy, std::log(8.0), 1e-6);
  EXPECT_DOUBLE_EQ(m.experts_touched, 8.0);
  EXPECT_NEAR(m.experts_touched_uniform, 8.0 * (1.0 - std::pow(0.75, 16)), 1e-12);
  ASSERT_EQ(m.drop_rates.size(), 4u);
  for (const DropRate& d : m.drop_rates) EXPECT_EQ(d.dropped, 0) << d.capacity_factor;
  EXPECT_FALSE(m.rank_balancedness.has_value());
  ASSERT_TRUE(m.to_next_layer.has_value());
  EXPECT_EQ(m.to_next_layer->to_layer, 2);
  EXPECT_FALSE(compute_layer_metrics(a, 2).to_next_layer.has_value());
  EXPECT_THROW(compute_layer_metrics(a, 3), InputError);
}

// 2. Skewed layer, E=4, k=1, one step of 4 tokens all on expert 0, no scores or logits:
//    load (4,0,0,0): balancedness 1/4, MaxVio 3, Jain 1/4; capacity ceil(C) = 1 at C=1 -> 3 of 4
//    dropped; ceil(2) = 2 at C=2 -> 2 dropped. Router metrics are absent. EP degree 2 (contiguous):
//    rank loads (4, 0) -> rank balancedness 1/2.
TEST(AnalysisLayerMetrics, SkewedLayerHandWorked) {
  auto a = test::make_routing(4, 1, {0, 0, 0, 0}, {0, 0, 0, 0});
  MetricsOptions o;
  o.capacity_factors = {1.0, 2.0};
  o.ep_degree = 2;
  const LayerMetrics m = compute_layer_metrics(a, 0, o);
  EXPECT_EQ(m.expert_load, (std::vector<double>{4, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(m.balancedness, 0.25);
  EXPECT_DOUBLE_EQ(m.max_vio, 3.0);
  EXPECT_DOUBLE_EQ(m.jain, 0.25);
  EXPECT_EQ(m.drop_rates[0].dropped, 3);
  EXPECT_DOUBLE_EQ(m.drop_rates[0].rate, 0.75);
  EXPECT_EQ(m.drop_rates[1].dropped, 2);
  ASSERT_TRUE(m.rank_balancedness.has_value());
  EXPECT_DOUBLE_EQ(*m.rank_balancedness, 0.5);
  EXPECT_FALSE(m.aux_loss.has_value());
  EXPECT_FALSE(m.z_loss.has_value());
  EXPECT_FALSE(m.token_entropy.has_value());
  EXPECT_DOUBLE_EQ(m.repetition.same_top1, 1.0);
  EXPECT_DOUBLE_EQ(m.experts_touched, 1.0);
  o.expert_to_rank = {1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(*compute_layer_metrics(a, 0, o).rank_balancedness, 0.5);
  o.expert_to_rank = {1, 0};
  EXPECT_THROW(compute_layer_metrics(a, 0, o), InputError);
}

// 3. Percentiles as numpy: (1,2,3,4) -> p50 2.5, p75 3.25, p90 3.7, p95 3.85.
TEST(AnalysisLayerMetrics, PercentilesMatchNumpyLinear) {
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile(v, 75), 3.25);
  EXPECT_NEAR(percentile(v, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile(v, 95), 3.85, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(std::vector<double>{7}, 95), 7.0);
  EXPECT_TRUE(std::isnan(percentile(std::vector<double>{}, 50)));
  EXPECT_THROW(percentile(v, 101), InputError);
}

// 4. Run metrics: layers differ (layer 0 uniform, layer 1 all on expert 0), percentiles of MaxVio
//    across the two layers interpolate between 0 and 7; transformers' all-layer loss pools rows.
TEST(AnalysisLayerMetrics, RunMetricsAndPercentiles) {
  auto a = test::make_uniform_routing(8, 1, 16, 2);
  for (int t = 0; t < 16; ++t) a.topk_ids[16 + t] = 0;
  const RunMetrics r = compute_run_metrics(a);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_DOUBLE_EQ(r.layers[0].max_vio, 0.0);
  EXPECT_DOUBLE_EQ(r.layers[1].max_vio, 7.0);
  const MetricPercentiles* mv = nullptr;
  for (const auto& p : r.percentiles) {
    if (p.key == "max_vio") mv = &p;
  }
  ASSERT_NE(mv, nullptr);
  EXPECT_DOUBLE_EQ(mv->p50, 3.5);
  EXPECT_DOUBLE_EQ(mv->p90, 6.3);
  ASSERT_TRUE(r.aux_loss_all_layers.has_value());
  EXPECT_NEAR(*r.aux_loss_all_layers, 1.0, 1e-6);  // uniform probabilities: sum_e f_e = 1 whatever f is
}

// 5. transformers concatenates the layers: layer 1's logits (ln 8, 0, ..., 0) give P_0 = 8/15,
//    others 1/15; layer 0 stays uniform. Pooled over 32 rows f_0 = 18/32, others 2/32, P_0 = 79/240,
//    others 23/240 -> 8 (18*79 + 14*23) / (32*240) = 13952/7680. Layer 1 alone: 8 * 8/15.
TEST(AnalysisLayerMetrics, AllLayerAuxLossPoolsRows) {
  auto a = test::make_uniform_routing(8, 1, 16, 2);
  for (int t = 0; t < 16; ++t) {
    a.topk_ids[16 + t] = 0;
    a.router_logits[(16 + t) * 8] = std::log(8.0f);
  }
  const RunMetrics r = compute_run_metrics(a);
  ASSERT_TRUE(r.aux_loss_all_layers.has_value());
  EXPECT_NEAR(*r.aux_loss_all_layers, 13952.0 / 7680.0, 1e-5);
  EXPECT_NEAR(*r.layers[1].aux_loss, 64.0 / 15.0, 1e-5);
  EXPECT_NEAR(*r.layers[0].aux_loss, 1.0, 1e-6);
}

// 6. JSON: every scalar present, NaN as null, percentiles keyed by metric, and it parses back.
TEST(AnalysisLayerMetrics, JsonSerialisation) {
  const auto a = test::make_uniform_routing(8, 2, 16, 2);
  const nlohmann::json j = to_json(compute_run_metrics(a));
  const auto parsed = nlohmann::json::parse(j.dump());
  ASSERT_EQ(parsed["layers"].size(), 2u);
  const auto& l0 = parsed["layers"][0];
  EXPECT_DOUBLE_EQ(l0["balancedness"].get<double>(), 1.0);
  EXPECT_NEAR(l0["aux_loss"].get<double>(), 2.0, 1e-6);
  EXPECT_EQ(l0["expert_load"].size(), 8u);
  EXPECT_EQ(l0["drop_rate"].size(), 4u);
  EXPECT_DOUBLE_EQ(l0["drop_rate"][1]["capacity_factor"].get<double>(), 1.25);
  EXPECT_TRUE(l0["vocab_spec_input"].is_null());  // every id seen once: no id qualifies
  EXPECT_TRUE(parsed["percentiles"].contains("drop_rate@1.25"));
  EXPECT_DOUBLE_EQ(parsed["percentiles"]["jain"]["p95"].get<double>(), 1.0);
}

// 7. An empty run (no tokens yet) reports balanced loads and leaves undefined values null.
TEST(AnalysisLayerMetrics, EmptyRunIsWellDefined) {
  auto a = test::make_uniform_routing(8, 2, 0, 2);
  const RunMetrics r = compute_run_metrics(a);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_DOUBLE_EQ(r.layers[0].balancedness, 1.0);
  EXPECT_FALSE(r.layers[0].aux_loss.has_value());
  EXPECT_FALSE(r.aux_loss_all_layers.has_value());
  EXPECT_EQ(r.layers[0].drop_rates[0].dropped, 0);
  const nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["layers"][0]["next_layer_predictability"].is_null());
  EXPECT_TRUE(j["aux_loss_all_layers"].is_null());
  MetricsOptions bad;
  bad.ep_degree = 0;
  EXPECT_THROW(compute_run_metrics(a, bad), InputError);
  bad.ep_degree = 16;  // more ranks than experts
  EXPECT_THROW(compute_run_metrics(a, bad), InputError);
}

// 8. Every key the report prints is documented in the catalogue (formula, baseline, function).
TEST(AnalysisLayerMetrics, EveryReportedKeyIsCatalogued) {
  auto a = test::make_uniform_routing(8, 2, 16, 2);
  MetricsOptions o;
  o.ep_degree = 2;
  for (const auto& [key, value] : scalar_metrics(compute_layer_metrics(a, 0, o))) {
    const std::string base = key.rfind("drop_rate@", 0) == 0 ? "drop_rate" : key;
    const MetricInfo* info = find_metric(base);
    ASSERT_NE(info, nullptr) << key;
    EXPECT_FALSE(info->formula.empty()) << key;
    EXPECT_FALSE(info->baseline.empty()) << key;
    EXPECT_FALSE(info->function.empty()) << key;
  }
  EXPECT_EQ(find_metric("no_such_metric"), nullptr);
  EXPECT_EQ(find_metric(""), nullptr);
}

}  // namespace
}  // namespace moescope::analysis
