// Focus: Switch and transformers auxiliary losses, ST-MoE z-loss, per-token routing entropy and
// the softmax used to recompute probabilities from logits, on hand-worked rows.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/analysis/router_losses.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

// 1. Switch form on two rows, E=2, top-1.
TEST(AnalysisRouterLosses, SwitchAuxLossHandWorked) {
  // Balanced choices: f = (1/2, 1/2), P = (0.6, 0.4) -> 2 * (0.3 + 0.2) = 1.
  EXPECT_NEAR(switch_aux_loss(std::vector<float>{0.8f, 0.2f, 0.4f, 0.6f}, std::vector<int32_t>{0, 1}, 2, 2, 1), 1.0, 1e-6);
  // Both rows pick 0: f = (1, 0), P = (0.75, 0.25) -> 2 * 0.75 = 1.5.
  EXPECT_NEAR(switch_aux_loss(std::vector<float>{0.8f, 0.2f, 0.7f, 0.3f}, std::vector<int32_t>{0, 0}, 2, 2, 1), 1.5, 1e-6);
}

// 2. transformers' form counts every top-k slot: E=4, k=2.
TEST(AnalysisRouterLosses, TransformersAuxLossHandWorked) {
  // r0 picks (0,1), r1 picks (3,2): f = 1/2 each, P = 1/4 each -> 4 * 4 * 1/8 = 2 = k.
  const std::vector<float> p_bal = {0.4f, 0.3f, 0.2f, 0.1f, 0.1f, 0.2f, 0.3f, 0.4f};
  EXPECT_NEAR(transformers_aux_loss(p_bal, std::vector<int32_t>{0, 1, 3, 2}, 2, 4, 2), 2.0, 1e-6);
  // Both rows pick (0,1): f = (1,1,0,0), P = (0.45, 0.3, 0.15, 0.1) -> 4 * 0.75 = 3.
  const std::vector<float> p = {0.4f, 0.3f, 0.2f, 0.1f, 0.5f, 0.3f, 0.1f, 0.1f};
  const std::vector<int32_t> ids = {0, 1, 0, 1};
  EXPECT_NEAR(transformers_aux_loss(p, ids, 2, 4, 2), 3.0, 1e-6);
  // The Switch form reads only the first slot: f = (1,0,0,0) -> 4 * 0.45 = 1.8.
  EXPECT_NEAR(switch_aux_loss(p, ids, 2, 4, 2), 1.8, 1e-6);
  EXPECT_THROW(transformers_aux_loss(p, std::vector<int32_t>{0, 1, 0}, 2, 4, 2), InputError);
  EXPECT_TRUE(std::isnan(transformers_aux_loss({}, {}, 0, 4, 2)));
}

// 3. Property: uniform probabilities and balanced choices give k (transformers) and 1 (Switch).
TEST(AnalysisRouterLosses, UniformRoutingGivesKAndOne) {
  for (int k : {1, 2, 4}) {
    auto a = test::make_uniform_routing(8, k, 32);
    EXPECT_NEAR(transformers_aux_loss(a.scores, a.topk_ids, a.n_tokens, 8, k), k, 1e-6) << k;
    EXPECT_NEAR(switch_aux_loss(a.scores, a.topk_ids, a.n_tokens, 8, k), 1.0, 1e-6) << k;
  }
}

// 4. z-loss: rows (0, 0) -> lse ln 2; (ln 3, 0) -> lse ln 4; mean of squares 2.5 (ln 2)^2.
TEST(AnalysisRouterLosses, ZLossHandWorked) {
  const std::vector<float> logits = {0.0f, 0.0f, std::log(3.0f), 0.0f};
  EXPECT_NEAR(router_z_loss(logits, 2, 2), 2.5 * std::log(2.0) * std::log(2.0), 1e-6);
  // Large logits must not overflow: (1000, 1000) -> (1000 + ln 2)^2.
  EXPECT_NEAR(router_z_loss(std::vector<float>{1000.f, 1000.f}, 1, 2), std::pow(1000.0 + std::log(2.0), 2), 1e-3);
}

// 5. Entropy: (1/2, 1/2) -> ln 2, (1, 0) -> 0; sigmoid-style rows are normalised first.
TEST(AnalysisRouterLosses, TokenEntropyHandWorked) {
  EXPECT_NEAR(mean_token_entropy(std::vector<float>{0.5f, 0.5f, 1.0f, 0.0f}, 2, 2), std::log(2.0) / 2, 1e-7);
  EXPECT_NEAR(mean_token_entropy(std::vector<float>{0.9f, 0.9f, 0.0f, 0.0f}, 1, 4), std::log(2.0), 1e-7);
  auto a = test::make_uniform_routing(16, 2, 16);
  EXPECT_NEAR(mean_token_entropy(a.scores, 16, 16), std::log(16.0), 1e-6);
  EXPECT_THROW(mean_token_entropy(std::vector<float>{-0.1f, 1.1f}, 1, 2), InputError);
}

// 6. softmax_rows: (0, ln 3) -> (1/4, 3/4).
TEST(AnalysisRouterLosses, SoftmaxRows) {
  const auto p = softmax_rows(std::vector<float>{0.0f, std::log(3.0f), 5.0f, 5.0f}, 2, 2);
  EXPECT_NEAR(p[0], 0.25f, 1e-6);
  EXPECT_NEAR(p[1], 0.75f, 1e-6);
  EXPECT_NEAR(p[2], 0.5f, 1e-6);
  EXPECT_NEAR(p[3], 0.5f, 1e-6);
}

}  // namespace
}  // namespace moescope::analysis
