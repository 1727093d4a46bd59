#include "ui/expert_order.h"

#include <algorithm>
#include <numeric>

namespace moescope::ui {

std::string_view expert_order_name(ExpertOrder order) {
  switch (order) {
    case ExpertOrder::id: return "id";
    case ExpertOrder::load: return "load";
    case ExpertOrder::cluster: return "co-activation cluster";
  }
  return "id";
}

std::vector<int32_t> expert_order(ExpertOrder how, const std::vector<int64_t>& counts, const std::vector<int64_t>& pair_count) {
  const auto n = static_cast<int32_t>(counts.size());
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (how == ExpertOrder::id) return order;
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return counts[a] > counts[b]; });
  if (how == ExpertOrder::load || pair_count.size() != static_cast<size_t>(n) * n) return order;

  // `order` is now the load ranking: the chain restarts from its first unplaced entry.
  std::vector<int32_t> chain;
  chain.reserve(static_cast<size_t>(n));
  std::vector<uint8_t> placed(static_cast<size_t>(n), 0);
  size_t next_by_load = 0;
  while (static_cast<int32_t>(chain.size()) < n) {
    int32_t best = -1;
    if (!chain.empty()) {
      const int64_t* row = pair_count.data() + static_cast<size_t>(chain.back()) * n;
      for (int32_t j : order) {  // load order, so ties go to the more used expert
        if (placed[static_cast<size_t>(j)] || row[j] <= 0) continue;
        if (best < 0 || row[j] > row[best]) best = j;
      }
    }
    if (best < 0) {
      while (placed[static_cast<size_t>(order[next_by_load])]) ++next_by_load;
      best = order[next_by_load];
    }
    placed[static_cast<size_t>(best)] = 1;
    chain.push_back(best);
  }
  return chain;
}

}  // namespace moescope::ui
