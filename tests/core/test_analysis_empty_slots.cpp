// Focus: routing with empty slots (expert choice: a token holds 0..top_k experts, kNoExpert after
// them). validate() takes trailing empty slots and refuses an expert after one; every analysis
// counts only the experts a token has. Hand-worked on 4 experts, 3 slots, 4 tokens in one step:
//   token 0: 2 1 -     token 1: 2 - -     token 2: - - -     token 3: 0 2 3
// loads (0, 1, 3, 1); pairs of expert 2: with 1 once, with 0 once, with 3 once.
#include <gtest/gtest.h>

#include "core/analysis/capacity.h"
#include "core/analysis/co_activation.h"
#include "core/analysis/divergence.h"
#include "core/analysis/ep_traffic.h"
#include "core/analysis/experts_touched.h"
#include "core/analysis/layer_metrics.h"
#include "core/analysis/load_metrics.h"
#include "core/analysis/token_routing.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope {
namespace {

constexpr int32_t X = analysis::kNoExpert;

analysis::RoutingArrays expert_choice_routing() {
  return test::make_routing(4, 3, {2, 1, X, 2, X, X, X, X, X, 0, 2, 3}, {0, 0, 0, 0});
}

TEST(AnalysisEmptySlots, Case1_ValidateTakesTrailingEmptySlotsOnly) {
  EXPECT_NO_THROW(analysis::validate(expert_choice_routing()));
  auto bad = expert_choice_routing();
  bad.topk_ids[5] = 3;  // token 1: 2 - 3
  EXPECT_THROW(analysis::validate(bad), InputError);
  bad = expert_choice_routing();
  bad.topk_ids[2] = -2;  // not the empty slot's id
  EXPECT_THROW(analysis::validate(bad), InputError);
}

TEST(AnalysisEmptySlots, Case2_LoadsPairsAndTouchedCountOnlyExperts) {
  const auto a = expert_choice_routing();
  EXPECT_EQ(analysis::expert_load(a, 0), (std::vector<double>{1, 1, 3, 1}));
  EXPECT_EQ(analysis::run_loads(a), (std::vector<double>{1, 1, 3, 1}));
  const auto co = analysis::co_activation(a, 0);
  EXPECT_EQ(co.pair_count[2 * 4 + 2], 3);
  EXPECT_EQ(co.pair_count[2 * 4 + 1], 1);
  EXPECT_EQ(co.pair_count[2 * 4 + 0], 1);
  EXPECT_EQ(co.pair_count[2 * 4 + 3], 1);
  EXPECT_EQ(co.pair_count[1 * 4 + 3], 0);
  const auto touched = analysis::experts_touched(a, 0);
  ASSERT_EQ(touched.touched.size(), 1u);
  EXPECT_EQ(touched.touched[0], 4);
}

TEST(AnalysisEmptySlots, Case3_CapacityTrafficMetricsAndTokenRoutingRunOverEmptySlots) {
  const auto a = expert_choice_routing();
  // Six assignments; capacity at C = 1 is ceil(1 * 4 * 3 / 4) = 3 per expert: nothing drops.
  const auto overflow = analysis::simulate_capacity(a, 1.0, analysis::OverflowOrder::token_order);
  EXPECT_EQ(overflow.n_assignments, 6);
  EXPECT_EQ(overflow.n_dropped, 0);
  const auto traffic = analysis::run_traffic(a, analysis::contiguous_placement(4, 2), 8, 2);
  EXPECT_FALSE(traffic.empty());
  const auto metrics = analysis::compute_run_metrics(a);
  ASSERT_EQ(metrics.layers.size(), 1u);
  EXPECT_DOUBLE_EQ(metrics.layers[0].expert_load[2], 3.0);
  // Tokens 0 and 1 share expert 2 as top-1; token 2 has none, so pairs (1,2) and (2,3) share nothing.
  const auto repetition = analysis::consecutive_repetition(a, 0);
  EXPECT_EQ(repetition.n_pairs, 3);
  EXPECT_DOUBLE_EQ(repetition.same_top1, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(repetition.shares_any, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(analysis::router_agreement(a, a, 0), 6.0 / 12.0);
}

}  // namespace
}  // namespace moescope
