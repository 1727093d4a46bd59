// Focus: routing by prompt tag and between runs — pooling runs by tag, domain specialisation and
// distinctive experts, per-expert tag preference with its chi-square p-value, Jensen-Shannon
// divergence per layer, and the permutation test for JSD between two groups of prompts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/analysis/divergence.h"
#include "core/analysis/stats.h"
#include "core/analysis/tag_analysis.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// A top-1 run over E=2 experts with `on0` tokens on expert 0 then `on1` on expert 1.
RoutingArrays split_run(int on0, int on1) {
  std::vector<int32_t> ids(on0, 0);
  ids.insert(ids.end(), on1, 1);
  return test::make_routing(2, 1, ids);
}

// 1. Runs pool by tag in order of first appearance; mismatched shapes are refused.
TEST(AnalysisTags, TagLoadsPoolRunsByTag) {
  const auto a1 = split_run(3, 1), a2 = split_run(5, 1), b = split_run(2, 8);
  const std::vector<TaggedRouting> runs = {{"code", &a1}, {"poetry", &b}, {"code", &a2}};
  const TagLoads l = tag_loads(runs);
  EXPECT_EQ(l.tags, (std::vector<std::string>{"code", "poetry"}));
  EXPECT_EQ(l.tokens, (std::vector<int64_t>{10, 10}));
  EXPECT_EQ(l.load, (std::vector<double>{8, 2, 2, 8}));
  const auto other = test::make_routing(4, 1, {0});
  const std::vector<TaggedRouting> bad = {{"code", &a1}, {"math", &other}};
  EXPECT_THROW(tag_loads(bad), InputError);
}

// 2. Shares (0.8, 0.2) for code and (0.2, 0.8) for poetry: each tag's distinctive expert has margin 0.6.
TEST(AnalysisTags, DomainSpecialisationHandWorked) {
  const auto a = split_run(8, 2), b = split_run(2, 8);
  const std::vector<TaggedRouting> runs = {{"code", &a}, {"poetry", &b}};
  const DomainSpecialisation d = domain_specialisation(tag_loads(runs), 0);
  EXPECT_DOUBLE_EQ(d.uniform_share, 0.5);
  EXPECT_EQ(d.share, (std::vector<double>{0.8, 0.2, 0.2, 0.8}));
  ASSERT_EQ(d.distinctive[0].size(), 1u);
  EXPECT_EQ(d.distinctive[0][0].expert, 0);
  EXPECT_NEAR(d.distinctive[0][0].margin, 0.6, 1e-12);
  ASSERT_EQ(d.distinctive[1].size(), 1u);
  EXPECT_EQ(d.distinctive[1][0].expert, 1);
  EXPECT_THROW(domain_specialisation(tag_loads(runs), 1), InputError);
}

// 3. Expert 0: 8 of 10 code tokens, 2 of 10 poetry tokens; pooled rate 1/2, every expected cell 5,
//    chi-square 4 * 3^2 / 5 = 7.2 with 1 dof, p = erfc(sqrt(3.6)); z = 3 / sqrt(2.5); lift 1.6.
TEST(AnalysisTags, ExpertPreferenceChiSquare) {
  const auto a = split_run(8, 2), b = split_run(2, 8);
  const std::vector<TaggedRouting> runs = {{"code", &a}, {"poetry", &b}};
  const auto pref = expert_tag_preference(tag_loads(runs), 0);
  ASSERT_EQ(pref.size(), 2u);
  EXPECT_EQ(pref[0].preferred_tag, 0);
  EXPECT_EQ(pref[1].preferred_tag, 1);
  EXPECT_NEAR(pref[0].chi_square, 7.2, 1e-12);
  EXPECT_EQ(pref[0].dof, 1);
  EXPECT_NEAR(pref[0].p_value, std::erfc(std::sqrt(3.6)), 1e-10);
  EXPECT_NEAR(pref[0].z_preferred, 3.0 / std::sqrt(2.5), 1e-12);
  EXPECT_NEAR(pref[0].lift, 1.6, 1e-12);
  // No preference: equal rates give chi-square 0 and p 1.
  const auto c = split_run(5, 5), d = split_run(5, 5);
  const std::vector<TaggedRouting> same = {{"x", &c}, {"y", &d}};
  const auto flat = expert_tag_preference(tag_loads(same), 0);
  EXPECT_NEAR(flat[0].chi_square, 0.0, 1e-12);
  EXPECT_NEAR(flat[0].p_value, 1.0, 1e-12);
  EXPECT_NEAR(flat[0].lift, 1.0, 1e-12);
}

// 4. The chi-square tail against known table values.
TEST(AnalysisTags, ChiSquareTailMatchesTables) {
  EXPECT_NEAR(chi_square_upper_tail(3.841458820694124, 1), 0.05, 1e-9);
  EXPECT_NEAR(chi_square_upper_tail(5.991464547107979, 2), 0.05, 1e-9);  // = exp(-x/2) exactly for dof 2
  EXPECT_NEAR(chi_square_upper_tail(20.0, 2), std::exp(-10.0), 1e-14);
  EXPECT_NEAR(chi_square_upper_tail(18.307038053275146, 10), 0.05, 1e-9);
  EXPECT_DOUBLE_EQ(chi_square_upper_tail(0.0, 3), 1.0);
  EXPECT_NEAR(normal_two_sided_p(1.959963984540054), 0.05, 1e-12);
}

// 5. JSD: disjoint loads -> 1 bit; identical -> 0; (1,0) vs (1/2,1/2) -> 0.311278 bits
//    (= (log2(4/3) + log2(2/3)/2 + 1/2) / 2).
TEST(AnalysisTags, JsDivergenceHandWorked) {
  EXPECT_NEAR(js_divergence(std::vector<double>{3, 0}, std::vector<double>{0, 7}), 1.0, 1e-12);
  EXPECT_NEAR(js_divergence(std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 6}), 0.0, 1e-12);
  const double expected = 0.5 * (std::log2(4.0 / 3.0) + 0.5 * std::log2(2.0 / 3.0) + 0.5);
  EXPECT_NEAR(js_divergence(std::vector<double>{4, 0}, std::vector<double>{1, 1}), expected, 1e-12);
  EXPECT_NEAR(expected, 0.311278, 1e-6);
  EXPECT_TRUE(std::isnan(js_divergence(std::vector<double>{0, 0}, std::vector<double>{1, 1})));
  EXPECT_THROW(js_divergence(std::vector<double>{1}, std::vector<double>{1, 1}), InputError);
  // Per layer, over run loads: identical runs give 0 in every layer.
  const auto u = test::make_uniform_routing(8, 2, 16, 3);
  EXPECT_EQ(run_loads(u).size(), 24u);
  for (double v : js_divergence_per_layer(run_loads(u), run_loads(u), 3, 8)) EXPECT_NEAR(v, 0.0, 1e-12);
}

// 6. Permutation test. Two prompts on expert 0 vs two on expert 1: of the 6 equal splits, 2 give
//    JSD 1 and 4 give 0, so the p-value tends to 1/3. Ten vs ten: only 2 of C(20,10) splits match,
//    so p is (1 + ~0) / 1001. Identical groups: every split is >= 0, p = 1.
TEST(AnalysisTags, JsdPermutationTest) {
  const std::vector<double> on0 = {5, 0}, on1 = {0, 5};
  const std::vector<std::vector<double>> a = {on0, on0}, b = {on1, on1};
  const PermutationTest small = jsd_permutation_test(a, b, 1, 2, 3000, 42);
  EXPECT_NEAR(small.observed, 1.0, 1e-12);
  EXPECT_NEAR(small.p_value, 1.0 / 3.0, 0.04);
  const PermutationTest again = jsd_permutation_test(a, b, 1, 2, 3000, 42);
  EXPECT_EQ(again.n_at_least_observed, small.n_at_least_observed);  // seeded: reproducible
  // The null distribution is kept (the GUI draws it): one statistic per split, and the splits at
  // least as large as the observed one are the ones counted.
  ASSERT_EQ(small.null_statistics.size(), 3000u);
  EXPECT_EQ(std::count_if(small.null_statistics.begin(), small.null_statistics.end(), [&](double s) { return s >= small.observed - 1e-12; }),
            small.n_at_least_observed);

  const std::vector<std::vector<double>> many_a(10, on0), many_b(10, on1);
  const PermutationTest big = jsd_permutation_test(many_a, many_b, 1, 2, 1000, 1);
  EXPECT_LE(big.p_value, 3.0 / 1001.0);

  const std::vector<std::vector<double>> mixed = {{3, 2}, {2, 3}};
  const PermutationTest none = jsd_permutation_test(mixed, mixed, 1, 2, 200, 3);
  EXPECT_NEAR(none.observed, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(none.p_value, 1.0);

  EXPECT_THROW(jsd_permutation_test({}, b, 1, 2), InputError);
  const std::vector<std::vector<double>> wrong = {{1, 2, 3}};
  EXPECT_THROW(jsd_permutation_test(wrong, b, 1, 2), InputError);
}

// 7. Tag JSD: code (8,2) vs poetry (2,8) -> JSD of (0.8,0.2) and (0.2,0.8); m = (1/2,1/2), so
//    JSD = 1 - H(0.8) = 1 - 0.721928 bits.
TEST(AnalysisTags, TagJsDivergence) {
  const auto a = split_run(8, 2), b = split_run(2, 8);
  const std::vector<TaggedRouting> runs = {{"code", &a}, {"poetry", &b}};
  const TagLoads l = tag_loads(runs);
  const double h = -(0.8 * std::log2(0.8) + 0.2 * std::log2(0.2));
  const auto jsd = tag_js_divergence(l, "code", "poetry");
  ASSERT_EQ(jsd.size(), 1u);
  EXPECT_NEAR(jsd[0], 1.0 - h, 1e-12);
  EXPECT_NEAR(tag_js_divergence(l, "code", "code")[0], 0.0, 1e-12);
  EXPECT_THROW(tag_js_divergence(l, "code", "math"), InputError);
}

// 8. Next-token KL: P = softmax(0, ln 3) = (1/4, 3/4), Q = (1/2, 1/2):
//    KL = 1/4 ln(1/2) + 3/4 ln(3/2). Identical logits (up to a shift) give 0.
TEST(AnalysisTags, NextTokenKl) {
  const std::vector<float> p = {0.0f, std::log(3.0f)}, q = {5.0f, 5.0f};
  EXPECT_NEAR(next_token_kl(p, q), 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-6);
  EXPECT_NEAR(next_token_kl(p, std::vector<float>{10.0f, 10.0f + std::log(3.0f)}), 0.0, 1e-6);
  EXPECT_THROW(next_token_kl(p, std::vector<float>{1.0f}), InputError);
}

}  // namespace
}  // namespace moescope::analysis
