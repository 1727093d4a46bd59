// Focus: expert capacity ceil(C*T*k/E), overflow in token order and by weight priority per
// (layer, forward step), the engines' per-step drop mask, and drop rates; hand-worked cases plus a
// property check against the closed form sum_e max(0, c_e - capacity).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/analysis/capacity.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// E=4, k=2, 4 tokens: expert 0 is chosen by every token.
//   t0 (0,1)  t1 (0,2)  t2 (0,3)  t3 (1,0)
const std::vector<int32_t> kIds = {0, 1, 0, 2, 0, 3, 1, 0};
const std::vector<float> kWeights = {0.6f, 0.4f, 0.5f, 0.5f, 0.9f, 0.1f, 0.7f, 0.3f};

// 1. The formula, including the binary-rounding guard.
TEST(AnalysisCapacity, CapacityFormula) {
  EXPECT_EQ(expert_capacity(1.0, 4, 2, 4), 2);
  EXPECT_EQ(expert_capacity(1.25, 10, 2, 8), 4);   // ceil(3.125)
  EXPECT_EQ(expert_capacity(1.0, 1, 2, 64), 1);    // decode step: ceil(2/64)
  EXPECT_EQ(expert_capacity(1.1, 10, 1, 11), 1);   // 1.1*10/11 is 1.0000000000000002 in binary
  EXPECT_EQ(expert_capacity(2.0, 0, 2, 8), 0);
  EXPECT_THROW(expert_capacity(0.0, 4, 2, 4), InputError);
  EXPECT_THROW(expert_capacity(-1.0, 4, 2, 4), InputError);
  EXPECT_THROW(expert_capacity(std::nan(""), 4, 2, 4), InputError);
}

// 2. Token order at C=1 (capacity 2): t2 and t3 lose their expert-0 slots.
TEST(AnalysisCapacity, TokenOrderDropsLateTokens) {
  std::vector<uint8_t> dropped(8, 9);
  EXPECT_EQ(capacity_drop_mask(kIds, {}, 4, 2, 4, 1.0, OverflowOrder::token_order, dropped), 2);
  EXPECT_EQ(dropped, (std::vector<uint8_t>{0, 0, 0, 0, 1, 0, 0, 1}));
  // C=1.5 -> capacity 3: only t3's slot on expert 0; C=0.5 -> capacity 1: t1, t2, t3 on expert 0
  // and t3 on expert 1 (after t0).
  EXPECT_EQ(capacity_drop_mask(kIds, {}, 4, 2, 4, 1.5, OverflowOrder::token_order, dropped), 1);
  EXPECT_EQ(dropped, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(capacity_drop_mask(kIds, {}, 4, 2, 4, 0.5, OverflowOrder::token_order, dropped), 4);
  EXPECT_EQ(dropped, (std::vector<uint8_t>{0, 0, 1, 0, 1, 0, 1, 1}));
}

// 3. Weight priority at C=1: expert 0 keeps t2 (0.9) and t0 (0.6), drops t1 (0.5) and t3 (0.3).
TEST(AnalysisCapacity, WeightPriorityKeepsHeaviest) {
  std::vector<uint8_t> dropped(8);
  EXPECT_EQ(capacity_drop_mask(kIds, kWeights, 4, 2, 4, 1.0, OverflowOrder::weight_priority, dropped), 2);
  EXPECT_EQ(dropped, (std::vector<uint8_t>{0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_THROW(capacity_drop_mask(kIds, {}, 4, 2, 4, 1.0, OverflowOrder::weight_priority, dropped), InputError);
  std::vector<uint8_t> short_mask(7);
  EXPECT_THROW(capacity_drop_mask(kIds, {}, 4, 2, 4, 1.0, OverflowOrder::token_order, short_mask), InputError);
}

// 4. A whole run: capacity applies per forward step. Two steps of two tokens -> capacity 1 each:
//    step A drops t1's expert-0 slot, step B drops t3's expert-0 slot.
TEST(AnalysisCapacity, SimulateAppliesCapacityPerStep) {
  auto a = test::make_routing(4, 2, kIds, {0, 0, 1, 1});
  a.topk_weights = kWeights;
  const CapacityOverflow o = simulate_capacity(a, 1.0);
  EXPECT_EQ(o.dropped, (std::vector<uint8_t>{0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(o.overflow, (std::vector<int64_t>{2, 0, 0, 0}));
  EXPECT_EQ(o.n_dropped, 2);
  EXPECT_EQ(o.n_assignments, 8);
  EXPECT_DOUBLE_EQ(drop_rate(o), 0.25);
  EXPECT_DOUBLE_EQ(layer_drop_rate(o, 0), 0.25);
  // One step of four tokens -> capacity 2, the case of test 2.
  auto one_step = test::make_routing(4, 2, kIds, {5, 5, 5, 5});
  const CapacityOverflow p = simulate_capacity(one_step, 1.0);
  EXPECT_EQ(p.dropped, (std::vector<uint8_t>{0, 0, 0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(simulate_capacity(one_step, 2.0).n_dropped, 0);
  EXPECT_THROW(simulate_capacity(one_step, 0.0), InputError);
}

// 5. Property: dropped per expert and step equals max(0, c_e - capacity), in both orders, and
//    capacity factor E/k never drops.
TEST(AnalysisCapacity, OverflowMatchesClosedForm) {
  std::mt19937 rng(7);
  const int32_t E = 8, k = 2, T = 40;
  std::vector<int32_t> ids;
  for (int t = 0; t < T; ++t) {
    // Skewed: expert 0 often first; second expert distinct from the first.
    const int32_t first = (rng() % 3 == 0) ? static_cast<int32_t>(rng() % E) : 0;
    int32_t second = static_cast<int32_t>(rng() % (E - 1));
    if (second >= first) ++second;
    ids.push_back(first);
    ids.push_back(second);
  }
  std::vector<int64_t> steps;
  for (int t = 0; t < T; ++t) steps.push_back(t < 25 ? 0 : 1 + (t - 25) / 5);  // 25-token prefill, 5-token steps
  auto a = test::make_routing(E, k, ids, steps);
  for (auto& w : a.topk_weights) w = static_cast<float>(rng() % 1000) / 1000.0f;
  for (double C : {0.5, 1.0, 1.25, 2.0}) {
    for (auto order : {OverflowOrder::token_order, OverflowOrder::weight_priority}) {
      const CapacityOverflow o = simulate_capacity(a, C, order);
      std::vector<int64_t> expected(E, 0);
      int begin = 0;
      while (begin < T) {
        int end = begin;
        while (end < T && steps[end] == steps[begin]) ++end;
        std::vector<int64_t> c(E, 0);
        for (int i = begin * k; i < end * k; ++i) ++c[ids[i]];
        const int64_t cap = expert_capacity(C, end - begin, k, E);
        for (int e = 0; e < E; ++e) expected[e] += std::max<int64_t>(0, c[e] - cap);
        begin = end;
      }
      EXPECT_EQ(o.overflow, expected) << "C=" << C;
    }
  }
  EXPECT_EQ(simulate_capacity(a, static_cast<double>(E) / k).n_dropped, 0);
}

}  // namespace
}  // namespace moescope::analysis
