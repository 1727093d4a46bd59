// Focus: per-expert load and the load-balance metrics (balancedness, MaxVio, max/mean, CV, Gini,
// Jain, normalised load entropy) on hand-worked loads, uniform and one-hot properties, and the
// RoutingArrays shape check.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/analysis/load_metrics.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// 1. Hand-worked load c = (4, 2, 2, 0): sum 8, mean 2, max 4.
TEST(AnalysisLoad, HandWorkedLoad) {
  const std::vector<double> c = {4, 2, 2, 0};
  EXPECT_DOUBLE_EQ(balancedness(c), 0.5);             // 2 / 4
  EXPECT_DOUBLE_EQ(max_vio(c), 1.0);                  // 4 / 2 - 1
  EXPECT_DOUBLE_EQ(max_over_mean(c), 2.0);
  EXPECT_DOUBLE_EQ(coefficient_of_variation(c), std::sqrt(2.0) / 2.0);  // var (4+0+0+4)/4 = 2
  // sum_ij |ci - cj| = 2 * (2+2+4+0+2+2) = 24; / (2 * 16 * 2) = 0.375
  EXPECT_DOUBLE_EQ(gini(c), 0.375);
  EXPECT_DOUBLE_EQ(jain_fairness(c), 64.0 / (4.0 * 24.0));  // 8^2 / (4 * (16+4+4))
  // p = (1/2, 1/4, 1/4, 0): H = 1.5 ln 2; / ln 4 = 0.75
  EXPECT_NEAR(normalised_load_entropy(c), 0.75, 1e-12);
}

// 2. Uniform load: every metric at its perfect-balance value.
TEST(AnalysisLoad, UniformLoadIsPerfectlyBalanced) {
  const std::vector<double> c(8, 5.0);
  EXPECT_DOUBLE_EQ(balancedness(c), 1.0);
  EXPECT_DOUBLE_EQ(max_vio(c), 0.0);
  EXPECT_DOUBLE_EQ(max_over_mean(c), 1.0);
  EXPECT_DOUBLE_EQ(coefficient_of_variation(c), 0.0);
  EXPECT_DOUBLE_EQ(gini(c), 0.0);
  EXPECT_DOUBLE_EQ(jain_fairness(c), 1.0);
  EXPECT_NEAR(normalised_load_entropy(c), 1.0, 1e-12);
}

// 3. One hot expert out of E: Jain 1/E, balancedness 1/E, MaxVio E-1, Gini (E-1)/E, entropy 0.
TEST(AnalysisLoad, OneHotExpert) {
  for (int E : {2, 4, 64}) {
    std::vector<double> c(E, 0.0);
    c[E / 2] = 37;
    EXPECT_NEAR(jain_fairness(c), 1.0 / E, 1e-12) << E;
    EXPECT_NEAR(balancedness(c), 1.0 / E, 1e-12) << E;
    EXPECT_NEAR(max_vio(c), E - 1.0, 1e-12) << E;
    EXPECT_NEAR(gini(c), (E - 1.0) / E, 1e-12) << E;
    EXPECT_NEAR(coefficient_of_variation(c), std::sqrt(E - 1.0), 1e-12) << E;
    EXPECT_NEAR(normalised_load_entropy(c), 0.0, 1e-12) << E;
  }
}

// 4. A layer with no tokens reads as balanced rather than NaN.
TEST(AnalysisLoad, AllZeroLoadReadsAsBalanced) {
  const std::vector<double> c(4, 0.0);
  EXPECT_DOUBLE_EQ(balancedness(c), 1.0);
  EXPECT_DOUBLE_EQ(max_vio(c), 0.0);
  EXPECT_DOUBLE_EQ(jain_fairness(c), 1.0);
  EXPECT_DOUBLE_EQ(gini(c), 0.0);
  EXPECT_THROW(balancedness(std::vector<double>{}), InputError);
}

// 5. expert_load counts every (token, slot) assignment of the chosen layer.
TEST(AnalysisLoad, ExpertLoadCountsAssignments) {
  auto a = test::make_routing(4, 2, {0, 1, 0, 2, 3, 0});
  EXPECT_EQ(expert_load(a, 0), (std::vector<double>{3, 1, 1, 1}));
  EXPECT_THROW(expert_load(a, 1), InputError);
  auto u = test::make_uniform_routing(8, 2, 16, 3);
  for (int l = 0; l < 3; ++l) EXPECT_EQ(expert_load(u, l), std::vector<double>(8, 4.0));
}

// 6. validate names the broken field.
TEST(AnalysisLoad, ValidateRejectsMalformedArrays) {
  auto a = test::make_routing(4, 2, {0, 1, 0, 2});
  EXPECT_NO_THROW(validate(a));
  auto bad_id = a;
  bad_id.topk_ids[3] = 4;
  EXPECT_THROW(validate(bad_id), InputError);
  auto dup = a;
  dup.topk_ids[1] = 0;
  EXPECT_THROW(validate(dup), InputError);
  auto short_weights = a;
  short_weights.topk_weights.pop_back();
  try {
    validate(short_weights);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("topk_weights"), std::string::npos) << e.what();
  }
  auto back_step = a;
  back_step.step_of_token = {3, 2};
  EXPECT_THROW(validate(back_step), InputError);
  auto k_too_big = a;
  k_too_big.top_k = 5;
  EXPECT_THROW(validate(k_too_big), InputError);
  auto bad_scores = a;
  bad_scores.scores.assign(3, 0.f);
  EXPECT_THROW(validate(bad_scores), InputError);
}

}  // namespace
}  // namespace moescope::analysis
