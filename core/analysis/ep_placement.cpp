#include "core/analysis/ep_placement.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.h"

namespace moescope::analysis {
namespace {

void require_ranks(int32_t n_experts, int32_t n_ranks, const char* what) {
  if (n_ranks < 1 || n_experts < 1 || n_ranks > n_experts) {
    fail_input(std::string(what) + ": need 1 <= EP degree <= n_experts (got EP degree " + std::to_string(n_ranks) +
               " for " + std::to_string(n_experts) + " experts)");
  }
}

void require_loads(std::span<const double> load, const char* what) {
  for (size_t e = 0; e < load.size(); ++e) {
    if (!(load[e] >= 0.0)) fail_input(std::string(what) + ": load of expert " + std::to_string(e) + " is negative or NaN");
  }
}

// Copies (expert, weight) packed heaviest first onto the lightest rank with a free slot.
ExpertPlacement pack(std::span<const int32_t> copy_expert, std::span<const double> copy_weight, int32_t n_experts,
                     int32_t n_ranks) {
  const int64_t slots = (static_cast<int64_t>(copy_expert.size()) + n_ranks - 1) / n_ranks;
  std::vector<size_t> order(copy_expert.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return copy_weight[a] > copy_weight[b]; });
  std::vector<double> weight(n_ranks, 0.0);
  std::vector<int64_t> used(n_ranks, 0);
  ExpertPlacement out;
  out.n_ranks = n_ranks;
  out.ranks_of_expert.resize(n_experts);
  for (size_t c : order) {
    auto& holders = out.ranks_of_expert[copy_expert[c]];
    int32_t best = -1;
    for (int pass = 0; pass < 2 && best < 0; ++pass) {  // pass 0 skips ranks already holding the expert
      for (int32_t r = 0; r < n_ranks; ++r) {
        if (used[r] >= slots) continue;
        if (pass == 0 && std::find(holders.begin(), holders.end(), r) != holders.end()) continue;
        if (best < 0 || weight[r] < weight[best]) best = r;
      }
    }
    weight[best] += copy_weight[c];
    ++used[best];
    if (std::find(holders.begin(), holders.end(), best) == holders.end()) holders.push_back(best);
  }
  for (auto& holders : out.ranks_of_expert) std::sort(holders.begin(), holders.end());
  return out;
}

}  // namespace

ExpertPlacement contiguous_placement(int32_t n_experts, int32_t n_ranks) {
  require_ranks(n_experts, n_ranks, "contiguous placement");
  ExpertPlacement out;
  out.n_ranks = n_ranks;
  for (int32_t e = 0; e < n_experts; ++e) {
    out.ranks_of_expert.push_back({static_cast<int32_t>(static_cast<int64_t>(e) * n_ranks / n_experts)});
  }
  return out;
}

ExpertPlacement placement_from_map(std::span<const int32_t> expert_to_rank, int32_t n_ranks) {
  require_ranks(static_cast<int32_t>(expert_to_rank.size()), n_ranks, "expert placement");
  ExpertPlacement out;
  out.n_ranks = n_ranks;
  for (size_t e = 0; e < expert_to_rank.size(); ++e) {
    const int32_t r = expert_to_rank[e];
    if (r < 0 || r >= n_ranks) {
      fail_input("expert placement: expert " + std::to_string(e) + " is placed on rank " + std::to_string(r) +
                 ", expected a rank in [0, " + std::to_string(n_ranks) + ")");
    }
    out.ranks_of_expert.push_back({r});
  }
  return out;
}

ExpertPlacement balanced_placement(std::span<const double> expert_load, int32_t n_ranks) {
  const int32_t E = static_cast<int32_t>(expert_load.size());
  require_ranks(E, n_ranks, "balanced placement");
  require_loads(expert_load, "balanced placement");
  std::vector<int32_t> experts(E);
  std::iota(experts.begin(), experts.end(), 0);
  return pack(experts, expert_load, E, n_ranks);
}

std::vector<double> rank_load(std::span<const double> expert_load, const ExpertPlacement& p) {
  if (expert_load.size() != p.ranks_of_expert.size()) {
    fail_input("rank load: " + std::to_string(expert_load.size()) + " expert loads for a placement of " +
               std::to_string(p.ranks_of_expert.size()) + " experts");
  }
  std::vector<double> out(p.n_ranks, 0.0);
  for (size_t e = 0; e < expert_load.size(); ++e) {
    const auto& holders = p.ranks_of_expert[e];
    if (holders.empty()) fail_input("rank load: expert " + std::to_string(e) + " is on no rank");
    for (int32_t r : holders) {
      if (r < 0 || r >= p.n_ranks) fail_input("rank load: expert " + std::to_string(e) + " on rank " + std::to_string(r) + " outside the placement");
      out[r] += expert_load[e] / static_cast<double>(holders.size());
    }
  }
  return out;
}

EplbResult eplb_placement(std::span<const double> expert_load, int32_t n_ranks, int32_t n_redundant,
                          const ExpertPlacement& before) {
  const int32_t E = static_cast<int32_t>(expert_load.size());
  require_ranks(E, n_ranks, "EPLB placement");
  require_loads(expert_load, "EPLB placement");
  if (n_redundant < 0 || n_redundant > static_cast<int64_t>(E) * (n_ranks - 1)) {
    fail_input("EPLB placement: redundant experts must lie in [0, " + std::to_string(static_cast<int64_t>(E) * (n_ranks - 1)) +
               "] so no expert needs more copies than ranks, got " + std::to_string(n_redundant));
  }
  EplbResult out;
  out.replicas.assign(E, 1);
  for (int32_t i = 0; i < n_redundant; ++i) {
    int32_t hottest = -1;
    for (int32_t e = 0; e < E; ++e) {
      if (out.replicas[e] >= n_ranks) continue;
      if (hottest < 0 || expert_load[e] / out.replicas[e] > expert_load[hottest] / out.replicas[hottest]) hottest = e;
    }
    ++out.replicas[hottest];
  }
  std::vector<int32_t> copy_expert;
  std::vector<double> copy_weight;
  for (int32_t e = 0; e < E; ++e) {
    for (int32_t c = 0; c < out.replicas[e]; ++c) {
      copy_expert.push_back(e);
      copy_weight.push_back(expert_load[e] / out.replicas[e]);
    }
  }
  out.placement = pack(copy_expert, copy_weight, E, n_ranks);
  out.rank_load_before = rank_load(expert_load, before);
  out.rank_load_after = rank_load(expert_load, out.placement);
  out.max_rank_load_before = *std::max_element(out.rank_load_before.begin(), out.rank_load_before.end());
  out.max_rank_load_after = *std::max_element(out.rank_load_after.begin(), out.rank_load_after.end());
  out.mean_rank_load = std::accumulate(expert_load.begin(), expert_load.end(), 0.0) / n_ranks;
  return out;
}

}  // namespace moescope::analysis
