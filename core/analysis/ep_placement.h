// Where experts live under expert parallelism: R ranks, each expert on one rank (contiguous,
// user-given or load-balanced) or, EPLB-style, hot experts replicated on several ranks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moescope::analysis {

struct ExpertPlacement {
  int32_t n_ranks = 1;
  std::vector<std::vector<int32_t>> ranks_of_expert;  // (n_experts) ranks holding a copy, ascending, >= 1 each
};

// Expert e on rank floor(e * R / E): equal contiguous blocks when R divides E (vLLM/SGLang default).
ExpertPlacement contiguous_placement(int32_t n_experts, int32_t n_ranks);
// User-given expert -> rank map (n_experts); InputError for a rank outside [0, n_ranks).
ExpertPlacement placement_from_map(std::span<const int32_t> expert_to_rank, int32_t n_ranks);
// One copy per expert, packed greedily by load (heaviest first onto the lightest rank with a free
// slot, ceil(E/R) slots per rank): EPLB's balanced_packing without replication.
ExpertPlacement balanced_placement(std::span<const double> expert_load, int32_t n_ranks);

// Rank totals when each expert's load is split evenly over its copies. (n_ranks)
std::vector<double> rank_load(std::span<const double> expert_load, const ExpertPlacement& placement);

struct EplbResult {
  ExpertPlacement placement;
  std::vector<int32_t> replicas;        // (n_experts) copies of each expert
  std::vector<double> rank_load_before; // (n_ranks) under the `before` placement
  std::vector<double> rank_load_after;  // (n_ranks)
  double max_rank_load_before = 0.0;
  double max_rank_load_after = 0.0;
  double mean_rank_load = 0.0;          // the ideal: total load / R
};

// DeepSeek EPLB (github.com/deepseek-ai/EPLB, rebalance_experts with one node): give each of the
// n_redundant extra slots to the expert with the largest load per copy, then pack the E + n_redundant
// copies onto R ranks heaviest first, each onto the lightest rank with a free slot. Unlike the
// reference packing we avoid putting two copies of one expert on one rank when another rank has
// room, since such a copy would take no load off anyone.
EplbResult eplb_placement(std::span<const double> expert_load, int32_t n_ranks, int32_t n_redundant,
                          const ExpertPlacement& before);

}  // namespace moescope::analysis
