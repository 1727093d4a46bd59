// The offload profile of a recorded run: the expert cache's counters (core/observer.h
// OffloadEvent, one per forward step and MoE layer, as the CUDA engine reported them with
// --offload-experts) summed per layer and over the run, for `moescope report` and the GUI.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/observer.h"

namespace moescope::analysis {

struct OffloadTotals {
  int32_t layer = -1;  // the model's layer index; -1 for the whole run
  int64_t steps = 0;   // events summed (a layer's steps; every layer's for the run)
  int64_t lookups = 0;
  int64_t hits = 0;
  int64_t prefetched = 0;     // experts copied ahead by --offload-prefetch
  int64_t prefetch_hits = 0;  // lookups that hit one of them
  int64_t bytes_copied = 0;
  double copy_us = 0;
  double stall_us = 0;
  int64_t misses() const { return lookups - hits; }
  double hit_rate() const { return lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0; }
};

struct OffloadProfile {
  std::vector<OffloadTotals> layers;  // ascending layer index, layers with events only
  OffloadTotals run;
  bool empty() const { return layers.empty(); }
};

OffloadProfile summarise_offload(std::span<const OffloadEvent> events);

// The hit rate per MoE layer over the run: the run's steps [first_step, last_step] cut into
// n_bins spans of equal length (at most max_bins, one per step when they are fewer), and per
// (layer, span) the lookups and hits of its events.
struct OffloadHitGrid {
  std::vector<int32_t> layers;  // (n_layers) ascending
  int64_t first_step = 0, last_step = -1;
  int32_t n_bins = 0;
  std::vector<int64_t> lookups;  // (n_layers, n_bins)
  std::vector<int64_t> hits;     // (n_layers, n_bins)
  int32_t bin_of(int64_t step) const;
  // -1 where the span has no lookups.
  double hit_rate(size_t layer_index, int32_t bin) const;
};
OffloadHitGrid offload_hit_grid(std::span<const OffloadEvent> events, int32_t max_bins);

}  // namespace moescope::analysis
