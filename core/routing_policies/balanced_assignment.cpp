// BASE layers solve a balanced linear assignment per batch: tokens are persons, expert slots are
// objects, value = the token's logit for the slot's expert. Lewis et al. use Bertsekas' auction;
// Sinkhorn iterations (as in S-BASE, Clark et al. 2022) are the cheaper approximate alternative.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <vector>

#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"

namespace moescope::routing_policies {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Tokens per expert: floor(T/E) each, one more for the T mod E experts that most tokens rank first
// (ties to the lower expert), so loads differ by at most one and sum to T.
std::vector<int32_t> balanced_capacities(const StepLogits& in) {
  const int32_t T = in.n_tokens, E = in.n_experts;
  std::vector<int32_t> capacity(static_cast<size_t>(E), T / E);
  std::vector<int64_t> first_choice(static_cast<size_t>(E), 0);
  for (int32_t t = 0; t < T; ++t) {
    const float* row = in.router_logits.data() + static_cast<size_t>(t) * E;
    ++first_choice[std::max_element(row, row + E) - row];
  }
  std::vector<int32_t> order(static_cast<size_t>(E));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return first_choice[a] > first_choice[b]; });
  for (int32_t i = 0; i < T % E; ++i) ++capacity[order[i]];
  return capacity;
}

// Forward auction with epsilon scaling over T tokens and T slots (slot s belongs to slot_expert[s]).
// Returns each token's expert; the total value is within T * final epsilon of the optimum.
std::vector<int32_t> auction(const StepLogits& in, const std::vector<int32_t>& capacity) {
  const int32_t T = in.n_tokens, E = in.n_experts;
  std::vector<int32_t> slot_expert, first_slot(static_cast<size_t>(E) + 1, 0);
  for (int32_t e = 0; e < E; ++e) {
    first_slot[e + 1] = first_slot[e] + capacity[e];
    slot_expert.insert(slot_expert.end(), static_cast<size_t>(capacity[e]), e);
  }
  const auto [lo, hi] = std::minmax_element(in.router_logits.begin(), in.router_logits.end());
  const double range = std::max(static_cast<double>(*hi - *lo), 1e-6);
  std::vector<double> price(static_cast<size_t>(T), 0.0);
  // Per expert: its cheapest slot and the two lowest prices (identical slots compete on price only).
  std::vector<int32_t> cheapest(static_cast<size_t>(E));
  std::vector<double> min1(static_cast<size_t>(E)), min2(static_cast<size_t>(E));
  auto refresh = [&](int32_t e) {
    min1[e] = min2[e] = kInf;
    cheapest[e] = -1;
    for (int32_t s = first_slot[e]; s < first_slot[e + 1]; ++s) {
      if (price[s] < min1[e]) {
        min2[e] = min1[e];
        min1[e] = price[s];
        cheapest[e] = s;
      } else if (price[s] < min2[e]) {
        min2[e] = price[s];
      }
    }
  };
  for (int32_t e = 0; e < E; ++e) refresh(e);

  std::vector<int32_t> owner(static_cast<size_t>(T)), slot_of(static_cast<size_t>(T));
  const double final_epsilon = range * 1e-7 / T;
  for (double epsilon = range / 4;; epsilon = std::max(epsilon / 8, final_epsilon)) {
    std::fill(owner.begin(), owner.end(), -1);
    std::fill(slot_of.begin(), slot_of.end(), -1);
    std::deque<int32_t> unassigned(static_cast<size_t>(T));
    std::iota(unassigned.begin(), unassigned.end(), 0);
    while (!unassigned.empty()) {
      const int32_t t = unassigned.front();
      unassigned.pop_front();
      const float* value = in.router_logits.data() + static_cast<size_t>(t) * E;
      int32_t best_e = -1;
      double best = -kInf;
      for (int32_t e = 0; e < E; ++e)
        if (cheapest[e] >= 0 && value[e] - min1[e] > best) {
          best = value[e] - min1[e];
          best_e = e;
        }
      double second = value[best_e] - min2[best_e];
      for (int32_t e = 0; e < E; ++e)
        if (e != best_e && cheapest[e] >= 0) second = std::max(second, value[e] - min1[e]);
      const int32_t s = cheapest[best_e];
      price[s] += (second == -kInf ? 0.0 : best - second) + epsilon;
      if (owner[s] >= 0) {
        slot_of[owner[s]] = -1;
        unassigned.push_back(owner[s]);
      }
      owner[s] = t;
      slot_of[t] = s;
      refresh(best_e);
    }
    if (epsilon <= final_epsilon) break;
  }
  std::vector<int32_t> expert(static_cast<size_t>(T));
  for (int32_t t = 0; t < T; ++t) expert[t] = slot_expert[slot_of[t]];
  return expert;
}

// Sinkhorn balancing of exp(logits) to rows summing to 1 and columns to the capacities, then a
// greedy rounding: pairs by balanced mass, best first, each token once, each expert to capacity.
std::vector<int32_t> sinkhorn(const StepLogits& in, const std::vector<int32_t>& capacity) {
  const int32_t T = in.n_tokens, E = in.n_experts;
  std::vector<double> plan(static_cast<size_t>(T) * E);  // (T, E)
  for (int32_t t = 0; t < T; ++t) {
    const float* row = in.router_logits.data() + static_cast<size_t>(t) * E;
    const float max_logit = *std::max_element(row, row + E);
    for (int32_t e = 0; e < E; ++e)
      plan[static_cast<size_t>(t) * E + e] = std::exp(static_cast<double>(row[e] - max_logit));
  }
  std::vector<double> column(static_cast<size_t>(E));
  for (int iteration = 0; iteration < 200; ++iteration) {
    for (int32_t t = 0; t < T; ++t) {
      double sum = 0;
      for (int32_t e = 0; e < E; ++e) sum += plan[static_cast<size_t>(t) * E + e];
      for (int32_t e = 0; e < E; ++e) plan[static_cast<size_t>(t) * E + e] /= sum;
    }
    std::fill(column.begin(), column.end(), 0.0);
    for (size_t i = 0; i < plan.size(); ++i) column[i % E] += plan[i];
    for (size_t i = 0; i < plan.size(); ++i) {
      const size_t e = i % E;
      plan[i] = capacity[e] == 0 ? 0.0 : plan[i] * capacity[e] / std::max(column[e], 1e-300);
    }
  }
  std::vector<size_t> pairs(plan.size());
  std::iota(pairs.begin(), pairs.end(), size_t{0});
  std::stable_sort(pairs.begin(), pairs.end(), [&](size_t a, size_t b) { return plan[a] > plan[b]; });
  std::vector<int32_t> expert(static_cast<size_t>(T), -1), room(capacity);
  for (size_t i : pairs) {
    const size_t t = i / E, e = i % E;
    if (expert[t] >= 0 || room[e] == 0) continue;
    expert[t] = static_cast<int32_t>(e);
    --room[e];
  }
  return expert;
}

}  // namespace

void route_balanced_assignment(BalancedSolver solver, const StepLogits& in, const StepRouting& out) {
  check_step(in, out, 1, "balanced-assignment");
  if (in.n_tokens == 0) return;
  const std::vector<int32_t> capacity = balanced_capacities(in);
  const std::vector<int32_t> expert =
      solver == BalancedSolver::auction ? auction(in, capacity) : sinkhorn(in, capacity);
  for (int32_t t = 0; t < in.n_tokens; ++t) {
    const float logit = in.router_logits[static_cast<size_t>(t) * in.n_experts + expert[t]];
    out.ids[t] = expert[t];
    out.weights[t] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logit))));
  }
}

}  // namespace moescope::routing_policies
