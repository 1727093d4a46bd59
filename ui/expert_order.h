// The order experts are listed in along a heatmap's expert axis: by id, by load (most used
// first) or clustered by co-activation, so that experts chosen together sit together and a
// 256-expert map shows blocks instead of noise. Pure function, no ImGui: tests/ui checks it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace moescope::ui {

enum class ExpertOrder : uint8_t { id, load, cluster };
inline constexpr int kExpertOrderCount = 3;
std::string_view expert_order_name(ExpertOrder order);  // "id", "load", "co-activation cluster"

// (n_experts) a permutation: order[row] is the expert shown at that row.
// counts: (n_experts) assignments per expert. pair_count: (n_experts, n_experts) tokens choosing
// both i and j (core/analysis/co_activation.h); only `cluster` reads it, and without it (empty)
// falls back to load order. Cluster order is a greedy chain: start at the most used expert, then
// repeatedly append the unplaced expert chosen together most often with the last one placed
// (ties: more used, then lower id); an expert never chosen with it restarts the chain at the most
// used unplaced expert.
std::vector<int32_t> expert_order(ExpertOrder how, const std::vector<int64_t>& counts, const std::vector<int64_t>& pair_count);

}  // namespace moescope::ui
