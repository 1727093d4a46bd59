#include "core/analysis/offload_profile.h"

#include <algorithm>

namespace moescope::analysis {
namespace {

void add_event(OffloadTotals& totals, const OffloadEvent& e) {
  ++totals.steps;
  totals.lookups += e.lookups;
  totals.hits += e.hits;
  totals.prefetched += e.prefetched;
  totals.prefetch_hits += e.prefetch_hits;
  totals.bytes_copied += e.bytes_copied;
  totals.copy_us += e.copy_us;
  totals.stall_us += e.stall_us;
}

}  // namespace

OffloadProfile summarise_offload(std::span<const OffloadEvent> events) {
  OffloadProfile profile;
  for (const OffloadEvent& e : events) {
    auto it = std::lower_bound(profile.layers.begin(), profile.layers.end(), e.layer,
                               [](const OffloadTotals& t, int32_t layer) { return t.layer < layer; });
    if (it == profile.layers.end() || it->layer != e.layer) it = profile.layers.insert(it, OffloadTotals{.layer = e.layer});
    add_event(*it, e);
    add_event(profile.run, e);
  }
  return profile;
}

int32_t OffloadHitGrid::bin_of(int64_t step) const {
  const int64_t span = last_step - first_step + 1;
  return static_cast<int32_t>((step - first_step) * n_bins / span);
}

double OffloadHitGrid::hit_rate(size_t layer_index, int32_t bin) const {
  const size_t i = layer_index * static_cast<size_t>(n_bins) + static_cast<size_t>(bin);
  return lookups[i] ? static_cast<double>(hits[i]) / static_cast<double>(lookups[i]) : -1.0;
}

OffloadHitGrid offload_hit_grid(std::span<const OffloadEvent> events, int32_t max_bins) {
  OffloadHitGrid grid;
  if (events.empty() || max_bins < 1) return grid;
  grid.first_step = events.front().step;
  grid.last_step = events.front().step;
  for (const OffloadEvent& e : events) {
    grid.first_step = std::min(grid.first_step, e.step);
    grid.last_step = std::max(grid.last_step, e.step);
    const auto it = std::lower_bound(grid.layers.begin(), grid.layers.end(), e.layer);
    if (it == grid.layers.end() || *it != e.layer) grid.layers.insert(it, e.layer);
  }
  grid.n_bins = static_cast<int32_t>(std::min<int64_t>(max_bins, grid.last_step - grid.first_step + 1));
  const size_t cells = grid.layers.size() * static_cast<size_t>(grid.n_bins);
  grid.lookups.assign(cells, 0);
  grid.hits.assign(cells, 0);
  for (const OffloadEvent& e : events) {
    const auto layer = static_cast<size_t>(std::lower_bound(grid.layers.begin(), grid.layers.end(), e.layer) - grid.layers.begin());
    const size_t i = layer * static_cast<size_t>(grid.n_bins) + static_cast<size_t>(grid.bin_of(e.step));
    grid.lookups[i] += e.lookups;
    grid.hits[i] += e.hits;
  }
  return grid;
}

}  // namespace moescope::analysis
