// Focus: per-token routing patterns — experts touched per forward step against the uniform
// expectation, co-activation P(j|i), consecutive-token repetition with its random baselines,
// router agreement between runs, layer-to-layer consistency and vocabulary specialisation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/analysis/co_activation.h"
#include "core/analysis/experts_touched.h"
#include "core/analysis/token_routing.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// Two MoE layers, E experts, top-1, given per-layer top-1 ids.
RoutingArrays two_layers_top1(int32_t E, std::vector<int32_t> l0, const std::vector<int32_t>& l1) {
  auto a = test::make_routing(E, 1, std::move(l0));
  a.n_layers = 2;
  a.layer_ids = {3, 5};
  a.topk_ids.insert(a.topk_ids.end(), l1.begin(), l1.end());
  a.topk_weights.assign(a.topk_ids.size(), 1.0f);
  return a;
}

// 1. Step {t0 (0,1), t1 (0,2)} touches 3 experts, step {t2 (3,1)} touches 2; with E=4, k=2 the
//    uniform expectation is 4(1 - 1/4) = 3 and 4(1 - 1/2) = 2.
TEST(AnalysisTokenRouting, ExpertsTouchedPerStep) {
  auto a = test::make_routing(4, 2, {0, 1, 0, 2, 3, 1}, {10, 10, 11});
  const ExpertsTouched x = experts_touched(a, 0);
  EXPECT_EQ(x.step, (std::vector<int64_t>{10, 11}));
  EXPECT_EQ(x.step_tokens, (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(x.touched, (std::vector<int32_t>{3, 2}));
  EXPECT_DOUBLE_EQ(x.expected_uniform[0], 3.0);
  EXPECT_DOUBLE_EQ(x.expected_uniform[1], 2.0);
  EXPECT_DOUBLE_EQ(x.mean_touched, 2.5);
  EXPECT_DOUBLE_EQ(x.mean_expected_uniform, 2.5);
  EXPECT_DOUBLE_EQ(expected_experts_touched(8, 2, 3), 8 * (1 - 0.75 * 0.75 * 0.75));
  EXPECT_DOUBLE_EQ(expected_experts_touched(64, 8, 0), 0.0);
  EXPECT_THROW(expected_experts_touched(4, 5, 1), InputError);
}

// 2. t0 (0,1), t1 (0,2), t2 (1,0): count = (3, 2, 1, 0); P(1|0) = 2/3, P(2|0) = 1/3, P(0|1) = 1.
TEST(AnalysisTokenRouting, CoActivationHandWorked) {
  auto a = test::make_routing(4, 2, {0, 1, 0, 2, 1, 0});
  const CoActivation c = co_activation(a, 0);
  EXPECT_EQ(c.pair_count[0 * 4 + 0], 3);
  EXPECT_EQ(c.pair_count[0 * 4 + 1], 2);
  EXPECT_EQ(c.pair_count[1 * 4 + 0], 2);
  EXPECT_DOUBLE_EQ(c.conditional[0 * 4 + 1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.conditional[0 * 4 + 2], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.conditional[1 * 4 + 0], 1.0);
  EXPECT_DOUBLE_EQ(c.conditional[2 * 4 + 0], 1.0);
  EXPECT_DOUBLE_EQ(c.conditional[1 * 4 + 2], 0.0);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(c.conditional[3 * 4 + j], 0.0);  // expert 3 unused
  EXPECT_DOUBLE_EQ(co_activation_uniform_baseline(4, 2), 1.0 / 3.0);
}

// 3. Property: each used expert's off-diagonal P(j|i) sum to k - 1 (its token's other choices).
TEST(AnalysisTokenRouting, CoActivationRowsSumToKMinusOne) {
  auto a = test::make_uniform_routing(8, 3, 40);
  const CoActivation c = co_activation(a, 0);
  for (int i = 0; i < 8; ++i) {
    double off = 0;
    for (int j = 0; j < 8; ++j) off += (i == j) ? 0.0 : c.conditional[i * 8 + j];
    EXPECT_NEAR(off, 2.0, 1e-12) << i;
  }
}

// 4. t0 (0,1), t1 (0,2), t2 (3,1), t3 (3,2): pairs share top-1 2/3 of the time and intersect 2/3.
TEST(AnalysisTokenRouting, ConsecutiveRepetitionHandWorked) {
  auto a = test::make_routing(4, 2, {0, 1, 0, 2, 3, 1, 3, 2});
  const Repetition r = consecutive_repetition(a, 0);
  EXPECT_EQ(r.n_pairs, 3);
  EXPECT_DOUBLE_EQ(r.same_top1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.shares_any, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.baseline_top1, 0.25);
  EXPECT_DOUBLE_EQ(r.baseline_any, 5.0 / 6.0);  // 1 - C(2,2)/C(4,2)
  EXPECT_NEAR(random_overlap_baseline(8, 2), 13.0 / 28.0, 1e-12);  // 1 - 15/28
  EXPECT_NEAR(random_overlap_baseline(64, 1), 1.0 / 64, 1e-12);
  EXPECT_DOUBLE_EQ(random_overlap_baseline(4, 3), 1.0);  // two 3-subsets of 4 always meet
}

// 5. Agreement: t0 (0,1) vs (1,0) shares 2 of 2, t1 (2,3) vs (2,0) shares 1 of 2 -> 0.75.
TEST(AnalysisTokenRouting, RouterAgreementHandWorked) {
  auto a = test::make_routing(4, 2, {0, 1, 2, 3});
  auto b = test::make_routing(4, 2, {1, 0, 2, 0});
  EXPECT_DOUBLE_EQ(router_agreement(a, b, 0), 0.75);
  EXPECT_EQ(router_agreement(a, a), std::vector<double>{1.0});
  b.token_ids[1] = 42;
  EXPECT_THROW(router_agreement(a, b, 0), InputError);
  auto c = test::make_routing(4, 2, {0, 1});
  EXPECT_THROW(router_agreement(a, c, 0), InputError);
}

// 6. Layer transition: y a function of x -> predictability 1, normalised MI 1; y independent of
//    x -> predictability 1/2, MI 0.
TEST(AnalysisTokenRouting, LayerTransitionHandWorked) {
  const LayerTransition det = layer_transition(two_layers_top1(2, {0, 0, 1, 1}, {1, 1, 0, 0}), 0);
  EXPECT_EQ(det.from_layer, 3);
  EXPECT_EQ(det.to_layer, 5);
  EXPECT_DOUBLE_EQ(det.top1_predictability, 1.0);
  EXPECT_NEAR(det.normalised_mutual_information, 1.0, 1e-12);
  const LayerTransition ind = layer_transition(two_layers_top1(2, {0, 0, 1, 1}, {0, 1, 0, 1}), 0);
  EXPECT_DOUBLE_EQ(ind.top1_predictability, 0.5);
  EXPECT_NEAR(ind.normalised_mutual_information, 0.0, 1e-12);
  EXPECT_THROW(layer_transition(two_layers_top1(2, {0}, {1}), 1), InputError);  // no layer after the last
}

// 7. Vocabulary specialisation: id 7 seen 5 times with top-1 (0,0,0,1,2) -> 3/5; id 3 five times
//    on expert 3 -> 1; id 9 four times (1,1,2,2) is below min_count 5 -> mean 0.8 over 2 ids.
TEST(AnalysisTokenRouting, VocabularySpecialisationHandWorked) {
  auto a = test::make_routing(4, 1, {0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 1, 1, 2, 2});
  a.token_ids = {7, 7, 7, 7, 7, 3, 3, 3, 3, 3, 9, 9, 9, 9};
  const auto v = vocabulary_specialisation(a, 0, a.token_ids);
  EXPECT_EQ(v.n_ids, 2);
  EXPECT_NEAR(v.mean_specialisation, 0.8, 1e-12);
  const auto v4 = vocabulary_specialisation(a, 0, a.token_ids, 4);
  EXPECT_EQ(v4.n_ids, 3);
  EXPECT_NEAR(v4.mean_specialisation, (0.6 + 1.0 + 0.5) / 3, 1e-12);
  EXPECT_TRUE(std::isnan(vocabulary_specialisation(a, 0, a.token_ids, 6).mean_specialisation));
  // Predicted ids: the next id; the last position has none.
  const auto next = next_token_ids(a);
  EXPECT_EQ(next[0], 7);
  EXPECT_EQ(next[4], 3);
  EXPECT_EQ(next.back(), -1);
  EXPECT_THROW(vocabulary_specialisation(a, 0, std::vector<int32_t>{1, 2}), InputError);
}

}  // namespace
}  // namespace moescope::analysis
