// Focus: the routing policies of core/routing_policies, one hand-worked case each on logits small
// enough to check with a pencil, and one property each (expert choice fills every expert exactly to
// capacity, balanced assignment equalises loads, the model's rule reproduces every golden family's
// recorded routing, ...).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_runner.h"
#include "core/routing_policies/split_mix.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope::routing_policies {
namespace {

// A step's routing output with its own buffers.
struct Routed {
  int32_t width;
  std::vector<int32_t> ids;
  std::vector<float> weights;
  std::vector<uint8_t> dropped;
  Routed(int32_t n_tokens, int32_t w)
      : width(w), ids(static_cast<size_t>(n_tokens) * w), weights(ids.size()), dropped(ids.size()) {}
  StepRouting out() { return {width, ids, weights, dropped}; }
};

StepLogits step(const std::vector<float>& logits, int32_t n_experts,
                const std::vector<int32_t>& token_ids = {}) {
  return {logits, static_cast<int32_t>(logits.size()) / n_experts, n_experts, 0, token_ids, 0};
}

// Mixtral's rule: softmax, greedy top-k, renormalised.
ModelConfig softmax_config(int64_t n_experts, int64_t top_k) {
  ModelConfig c;
  c.n_routed_experts = n_experts;
  c.top_k = top_k;
  c.norm_topk_prob = true;
  return c;
}

std::vector<float> random_logits(int32_t n_tokens, int32_t n_experts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(static_cast<size_t>(n_tokens) * n_experts);
  for (float& x : logits) x = normal(rng);
  return logits;
}

std::vector<int64_t> loads(const Routed& r, int32_t n_experts) {
  std::vector<int64_t> load(static_cast<size_t>(n_experts), 0);
  for (size_t i = 0; i < r.ids.size(); ++i)
    if (r.ids[i] >= 0 && !r.dropped[i]) ++load[r.ids[i]];
  return load;
}

// 1. topk: [1, 3, 2, 0] with k=2 picks experts 1 and 2, renormalised to e^3/(e^3+e^2) = 1/(1+e^-1).
TEST(RoutingPolicies, TopkHandWorked) {
  Routed r(1, 2);
  route_topk(softmax_config(4, 2), 2, {}, step({1, 3, 2, 0}, 4), r.out());
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(r.weights[1], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_THROW(route_topk(softmax_config(4, 2), 5, {}, step({1, 3, 2, 0}, 4), Routed(1, 5).out()),
               InputError);
}

// 2. topk with the defaults reproduces what transformers recorded for every golden family: every
// token's expert set and its final weights (scoring, correction bias, group limits, renormalisation and
// routed_scaling_factor included), for every token of every MoE layer.
TEST(RoutingPolicies, TopkDefaultsReproduceEveryGoldenFamily) {
  for (const std::string& name : test::kGoldenModels) {
    SCOPED_TRACE(name);
    auto model = load_model(test::golden_model(name));
    const ModelConfig& c = model->config;
    test::GoldenFile golden = test::open_golden(name);
    PolicyRunner runner(c, {.kind = PolicyKind::topk}, correction_biases(*model));
    int checked_layers = 0;
    for (int32_t layer : c.moe_layers()) {
      const std::string L = std::to_string(layer);
      const std::vector<float> logits = golden.f32("router_logits." + L);
      const std::vector<float> ref_weights = golden.f32("gate_out1." + L);
      const std::vector<float> ref_ids = golden.f32("gate_out2." + L);
      const int32_t E = static_cast<int32_t>(c.n_routed_experts), k = static_cast<int32_t>(c.top_k);
      const int32_t T = static_cast<int32_t>(logits.size() / E);
      Routed r(T, k);
      runner.route({logits, T, E, 0, {}, layer}, r.out());
      // As sets per token: DeepSeek's reference takes torch.topk(sorted=False), so its order is not ranked.
      for (int32_t t = 0; t < T; ++t) {
        std::map<int32_t, float> reference;
        for (int32_t j = 0; j < k; ++j)
          reference[static_cast<int32_t>(ref_ids[t * k + j])] = ref_weights[t * k + j];
        for (int32_t j = 0; j < k; ++j) {
          auto it = reference.find(r.ids[t * k + j]);
          ASSERT_NE(it, reference.end())
              << "layer " << layer << " token " << t << ": expert " << r.ids[t * k + j];
          ASSERT_NEAR(r.weights[t * k + j], it->second, 1e-5 * std::max(1.0f, std::fabs(it->second)));
        }
      }
      ++checked_layers;
    }
    EXPECT_GT(checked_layers, 0);
  }
}

// 3. switch: softmax of [0, ln 3, 0, 0] is [1/6, 1/2, 1/6, 1/6]: expert 1 with weight 1/2.
TEST(RoutingPolicies, SwitchHandWorked) {
  Routed r(1, 1);
  route_switch(step({0, std::log(3.0f), 0, 0}, 4), r.out());
  EXPECT_EQ(r.ids[0], 1);
  EXPECT_NEAR(r.weights[0], 0.5, 1e-6);
}

// 4. switch property: every token's one expert is its argmax, weighted by its softmax probability.
TEST(RoutingPolicies, SwitchIsArgmax) {
  const auto logits = random_logits(50, 8, 4);
  Routed r(50, 1);
  route_switch(step(logits, 8), r.out());
  for (int32_t t = 0; t < 50; ++t) {
    const float* row = logits.data() + t * 8;
    EXPECT_EQ(r.ids[t], std::max_element(row, row + 8) - row);
    EXPECT_GT(r.weights[t], 1.0f / 8);
  }
}

// 5. noisy-topk without noise is KeepTopK then softmax over the kept logits: [1, 3, 2, 0] -> 1, 2.
TEST(RoutingPolicies, NoisyTopkWithoutNoiseHandWorked) {
  Routed r(1, 2);
  route_noisy_topk(2, 0.0, 7, step({1, 3, 2, 0}, 4), r.out());
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_THROW(route_noisy_topk(2, -1.0, 7, step({1, 3, 2, 0}, 4), r.out()), InputError);
}

// 6. noisy-topk property: the same seed gives the same routing, another seed another one; the
// noise moves choices more the larger it is; weights of each token sum to 1.
TEST(RoutingPolicies, NoisyTopkIsSeededAndScalesWithNoise) {
  const auto logits = random_logits(200, 8, 6);
  auto changed = [&](double std_dev, uint64_t seed) {
    Routed r(200, 2);
    route_noisy_topk(2, std_dev, seed, step(logits, 8), r.out());
    Routed plain(200, 2);
    route_noisy_topk(2, 0.0, seed, step(logits, 8), plain.out());
    for (int32_t t = 0; t < 200; ++t) EXPECT_NEAR(r.weights[2 * t] + r.weights[2 * t + 1], 1.0, 1e-5);
    int n = 0;
    for (size_t i = 0; i < r.ids.size(); ++i) n += r.ids[i] != plain.ids[i];
    return std::pair(n, r.ids);
  };
  EXPECT_EQ(changed(1.0, 1).second, changed(1.0, 1).second);
  EXPECT_NE(changed(1.0, 1).second, changed(1.0, 2).second);
  EXPECT_LT(changed(0.1, 1).first, changed(3.0, 1).first);
}

// 7. capacity: E=2, k=1, 4 tokens all but the last preferring expert 0, C=1 -> 2 slots each.
// By position the third token (t2) is dropped; by score the weakest preference (t0: softmax(1,0)).
TEST(RoutingPolicies, CapacityHandWorked) {
  const std::vector<float> logits = {1, 0, 3, 0, 2, 0, 0, 1};
  Routed by_position(4, 1), by_score(4, 1);
  route_capacity(softmax_config(2, 1), 1, {}, 1.0, CapacityPriority::position, step(logits, 2),
                 by_position.out());
  route_capacity(softmax_config(2, 1), 1, {}, 1.0, CapacityPriority::score, step(logits, 2), by_score.out());
  EXPECT_EQ(by_position.ids, (std::vector<int32_t>{0, 0, 0, 1}));
  EXPECT_EQ(by_position.dropped, (std::vector<uint8_t>{0, 0, 1, 0}));
  EXPECT_EQ(by_score.dropped, (std::vector<uint8_t>{1, 0, 0, 0}));
}

// 8. capacity property: no expert keeps more than ceil(C*T*k/E) assignments, and what is dropped
// is exactly the excess over it.
TEST(RoutingPolicies, CapacityNeverExceeded) {
  for (double factor : {0.5, 1.0, 1.25}) {
    const auto logits = random_logits(64, 8, 8);
    Routed r(64, 2);
    route_capacity(softmax_config(8, 2), 2, {}, factor, CapacityPriority::score, step(logits, 8), r.out());
    const int64_t capacity = static_cast<int64_t>(std::ceil(factor * 64 * 2 / 8 - 1e-9));
    std::vector<int64_t> chosen(8, 0);
    for (int32_t id : r.ids) ++chosen[id];
    const auto kept = loads(r, 8);
    for (int e = 0; e < 8; ++e) EXPECT_EQ(kept[e], std::min(chosen[e], capacity)) << "factor " << factor;
  }
}

// 9. expert choice: E=2, T=4, k=1, C=1.5 -> each expert takes ceil(3) tokens.
//   softmax column 0: t0 .881  t1 .731  t2 .269  t3 .5  -> t0, t1, t3
//   softmax column 1: t0 .119  t1 .269  t2 .731  t3 .5  -> t2, t3, t1
// t1 gets both (0 first, higher S); t3 ties at .5 and lists the lower expert first.
TEST(RoutingPolicies, ExpertChoiceHandWorked) {
  Routed r(4, 2);
  route_expert_choice(1, 1.5, step({2, 0, 1, 0, 0, 1, 0, 0}, 2), r.out());
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, -1, 0, 1, 1, -1, 0, 1}));
  EXPECT_NEAR(r.weights[2], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(r.weights[1], 0.0f);
}

// 10. expert choice property: every expert takes exactly its capacity, min(T, ceil(C*T*k/E)).
TEST(RoutingPolicies, ExpertChoiceFillsEveryExpertToCapacity) {
  for (auto [T, C] : {std::pair{37, 1.0}, {64, 1.25}, {5, 4.0}, {1, 1.0}}) {
    Routed r(T, 8);
    route_expert_choice(2, C, step(random_logits(T, 8, T), 8), r.out());
    const int64_t capacity = std::min<int64_t>(T, static_cast<int64_t>(std::ceil(C * T * 2 / 8 - 1e-9)));
    for (int64_t load : loads(r, 8)) EXPECT_EQ(load, capacity) << "T " << T << " C " << C;
  }
}

// 11. balanced assignment: 4 tokens all preferring expert 0 (by 3, 1, 2, 0.5), 2 slots each: the
// best total sends the two strongest preferences (t0, t2) to expert 0, the others to expert 1.
TEST(RoutingPolicies, BalancedAssignmentHandWorked) {
  for (BalancedSolver solver : {BalancedSolver::auction, BalancedSolver::sinkhorn}) {
    Routed r(4, 1);
    route_balanced_assignment(solver, step({3, 0, 1, 0, 2, 0, 0.5f, 0}, 2), r.out());
    EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 1, 0, 1}));
    EXPECT_NEAR(r.weights[1], 0.5, 1e-6);  // sigmoid(0)
  }
}

// 12. balanced assignment property: loads are equal (differ by at most one when E does not divide
// T), and the auction's assignment is optimal: no other balanced assignment has a larger total,
// checked by brute force over every assignment of 6 tokens to 3 experts.
TEST(RoutingPolicies, BalancedAssignmentLoadsEqualAndAuctionOptimal) {
  for (BalancedSolver solver : {BalancedSolver::auction, BalancedSolver::sinkhorn}) {
    for (int32_t T : {40, 37, 3}) {
      Routed r(T, 1);
      route_balanced_assignment(solver, step(random_logits(T, 8, 100 + T), 8), r.out());
      const auto load = loads(r, 8);
      const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
      EXPECT_LE(*hi - *lo, T % 8 == 0 ? 0 : 1) << "T " << T;
      EXPECT_EQ(std::accumulate(load.begin(), load.end(), int64_t{0}), T);
    }
  }
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const auto logits = random_logits(6, 3, seed);
    Routed r(6, 1);
    route_balanced_assignment(BalancedSolver::auction, step(logits, 3), r.out());
    double got = 0;
    for (int t = 0; t < 6; ++t) got += logits[t * 3 + r.ids[t]];
    double best = -1e30;
    for (int code = 0; code < 729; ++code) {
      int c = code, count[3] = {0, 0, 0};
      double total = 0;
      for (int t = 0; t < 6; ++t, c /= 3) {
        ++count[c % 3];
        total += logits[t * 3 + c % 3];
      }
      if (count[0] == 2 && count[1] == 2) best = std::max(best, total);
    }
    EXPECT_NEAR(got, best, 1e-4) << "seed " << seed;
  }
}

// 13. aux-free bias, rate 0.1, one token with logits [0.1, 0] per step (scores .525, .475):
// step 1 picks expert 0 and moves the bias to (-0.1, +0.1); step 2 then picks expert 1
// (.425 < .575) weighted by its unbiased score .475, and the bias returns to (0, 0).
TEST(RoutingPolicies, AuxFreeBiasHandWorked) {
  std::vector<float> bias = {0, 0};
  Routed first(1, 1), second(1, 1);
  route_aux_free_bias(softmax_config(2, 1), 1, 0.1, bias, step({0.1f, 0}, 2), first.out());
  EXPECT_EQ(first.ids[0], 0);
  EXPECT_NEAR(bias[0], -0.1, 1e-7);
  EXPECT_NEAR(bias[1], 0.1, 1e-7);
  route_aux_free_bias(softmax_config(2, 1), 1, 0.1, bias, step({0.1f, 0}, 2), second.out());
  EXPECT_EQ(second.ids[0], 1);
  EXPECT_NEAR(second.weights[0], 1.0 / (1.0 + std::exp(0.1)), 1e-6);
  EXPECT_NEAR(bias[0], 0.0, 1e-7);
  EXPECT_NEAR(bias[1], 0.0, 1e-7);
}

// 14. aux-free bias property: a router skewed toward two experts, replayed for 300 decode steps
// through the runner, ends far better balanced than the model's own rule on the same logits.
TEST(RoutingPolicies, AuxFreeBiasBalancesASkewedRouter) {
  const ModelConfig c = softmax_config(8, 2);
  PolicyRunner topk(c, {.kind = PolicyKind::topk}),
      aux_free(c, {.kind = PolicyKind::aux_free_bias, .bias_rate = 0.01});
  std::vector<int64_t> plain(8, 0), balanced(8, 0);
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (int64_t t = 0; t < 300; ++t) {
    std::vector<float> logits(8);
    for (int e = 0; e < 8; ++e) logits[e] = normal(rng) + (e < 2 ? 1.0f : 0.0f);
    StepLogits in{logits, 1, 8, t, {}, 3};
    Routed a(1, 2), b(1, 2);
    topk.route(in, a.out());
    aux_free.route(in, b.out());
    for (int j = 0; j < 2; ++j) ++plain[a.ids[j]], ++balanced[b.ids[j]];
  }
  const int64_t plain_max = *std::max_element(plain.begin(), plain.end());
  const int64_t balanced_max = *std::max_element(balanced.begin(), balanced.end());
  EXPECT_GT(plain_max, 150);              // mean load is 75
  EXPECT_LT(balanced_max, 75 * 13 / 10);  // within 30 % of the mean
}

// 15. group-limited: E=4 in groups {0,1} {2,3}, one group kept, k=2, logits [3, 0, 2, 2]: group
// 0's best (3) beats group 1's (2), so the choice is 0 and 1, where plain top-2 would take 0 and 2.
TEST(RoutingPolicies, GroupLimitedHandWorked) {
  Routed r(1, 2);
  route_group_limited(softmax_config(4, 2), 2, 2, 1, {}, step({3, 0, 2, 2}, 4), r.out());
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 1}));
  EXPECT_THROW(route_group_limited(softmax_config(4, 2), 2, 3, 1, {}, step({3, 0, 2, 2}, 4), r.out()),
               InputError);
}

// 16. group-limited property: every token's experts lie in at most topk_groups groups.
TEST(RoutingPolicies, GroupLimitedStaysInItsGroups) {
  const auto logits = random_logits(100, 16, 16);
  Routed r(100, 4);
  route_group_limited(softmax_config(16, 4), 4, 4, 2, {}, step(logits, 16), r.out());
  for (int t = 0; t < 100; ++t) {
    std::set<int32_t> groups;
    for (int j = 0; j < 4; ++j) groups.insert(r.ids[t * 4 + j] / 4);
    EXPECT_LE(groups.size(), 2u);
  }
}

// 17. hash: SplitMix64's published first output for state 0, and a token's experts are the
// redraw-on-repeat sequence of SplitMix64 over (seed, token id), weighted 1/k.
TEST(RoutingPolicies, HashHandWorked) {
  EXPECT_EQ(split_mix64(0), 0xe220a8397b1dcdafULL);
  Routed r(1, 2);
  route_hash(2, 0, step({0, 0, 0, 0}, 4, {5}), r.out());
  uint64_t draw = split_mix64(0 ^ split_mix64(5));
  std::vector<int32_t> expected;
  while (expected.size() < 2) {
    draw = split_mix64(draw);
    const int32_t e = static_cast<int32_t>(draw % 4);
    if (std::find(expected.begin(), expected.end(), e) == expected.end()) expected.push_back(e);
  }
  EXPECT_EQ(r.ids, expected);
  EXPECT_EQ(r.weights, (std::vector<float>{0.5f, 0.5f}));
}

// 18. hash property: content-blind (the logits do not matter, the token id does), k distinct
// experts, and over many ids each expert gets about 1/E of them.
TEST(RoutingPolicies, HashIsContentBlindAndSpread) {
  std::vector<int32_t> ids(4000);
  std::iota(ids.begin(), ids.end(), 0);
  Routed a(4000, 2), b(4000, 2);
  route_hash(2, 9, step(random_logits(4000, 8, 1), 8, ids), a.out());
  route_hash(2, 9, step(random_logits(4000, 8, 2), 8, ids), b.out());
  EXPECT_EQ(a.ids, b.ids);
  for (int t = 0; t < 4000; ++t) EXPECT_NE(a.ids[2 * t], a.ids[2 * t + 1]);
  for (int64_t load : loads(a, 8)) EXPECT_NEAR(load, 1000, 120);
}

// 19. The runner: names round-trip, bad names and bad k fail with one line.
TEST(RoutingPolicies, RunnerNamesAndOptions) {
  for (const std::string& name : policy_names()) EXPECT_EQ(policy_name(parse_policy(name)), name);
  EXPECT_THROW(parse_policy("top-k"), InputError);
  const ModelConfig c = softmax_config(8, 2);
  EXPECT_EQ(PolicyRunner(c, {.kind = PolicyKind::expert_choice}).width(), 8);
  EXPECT_EQ(PolicyRunner(c, {.kind = PolicyKind::switch_top1}).width(), 1);
  EXPECT_THROW(PolicyRunner(c, {.kind = PolicyKind::topk, .k = 9}), InputError);
  EXPECT_THROW(PolicyRunner(c, {.kind = PolicyKind::group_limited}), InputError);  // no groups in the model
  Routed r(1, 2);
  const std::vector<float> bad = {1, NAN, 0, 0, 0, 0, 0, 0};
  PolicyRunner topk(c, {.kind = PolicyKind::topk});
  EXPECT_THROW(topk.route(step(bad, 8), r.out()), InputError);
}

}  // namespace
}  // namespace moescope::routing_policies
