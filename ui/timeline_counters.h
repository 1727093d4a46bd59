// The timeline's counter tracks and its modelled all-to-all track, prepared from a run (GL- and
// ImGui-free, after Tracy's plots): per forward step, the tokens per second and the tokens routed
// to one chosen expert; per step and MoE layer, the exchange the EP model predicted
// (all_to_all_steps' modeled_us), placed where that layer's all-to-all ran so it sits under the
// measured all-to-all phase zones. Drawn per pixel column, so a 10,000-step run costs the same
// as a short one (ui/timeline_counter_tracks.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/routing_arrays.h"
#include "ui/session_data.h"

namespace moescope::ui {

struct PlacedZone;  // ui/app_state.h

// One value held over one forward step on the timeline's axis.
struct CounterSample {
  double begin_us = 0, end_us = 0;
  int64_t step = 0;
  double value = 0;
};
struct CounterTrack {
  std::vector<CounterSample> samples;  // one per step, sorted by time, non-overlapping
  double max_value = 0;
};

// The EP model's prediction for one step and layer, placed on the timeline's axis.
struct ModelledExchange {
  double begin_us = 0, end_us = 0;  // begin + modeled_us, cut at the next exchange's begin
  int64_t step = 0;
  int32_t layer = 0;       // the model's layer index
  double modeled_us = 0;   // dispatch + combine on the configured interconnect
  double measured_us = 0;  // the engine's measured exchange; 0 when only modelled
  double phase_us = 0;     // the layer's all-to-all phase zones on the timeline, summed
};

// What the counter tracks show, rebuilt when the run (tracks_key), the layer or the expert changes.
struct TimelineCounters {
  uint64_t key = 0;  // TimelineState::key the step-wide tracks were built for
  CounterTrack tokens_per_s;
  std::vector<ModelledExchange> exchanges;  // sorted by begin, non-overlapping
  uint64_t expert_key = 0;                  // mix of key, layer and expert
  int32_t expert = -1;                      // -1: none chosen
  int32_t layer = -1;                       // index into the run's MoE layers
  CounterTrack expert_tokens;
};

// Tokens of each step over the step's duration. `steps`: the timeline's step track.
CounterTrack tokens_per_second(std::span<const int64_t> step_of_token, const std::vector<PlacedZone>& steps);

// Tokens of each step whose top-k at MoE layer index `layer` holds `expert`.
CounterTrack expert_tokens_per_step(const analysis::RoutingArrays& routing,
                                    const std::vector<PlacedZone>& steps, int32_t layer, int32_t expert);

// Each traffic matrix's modelled exchange, starting at its layer's first all-to-all phase zone in
// that step (else at the layer's start). `phases` and `layers`: the timeline's tracks.
std::vector<ModelledExchange> place_modelled_exchanges(const std::vector<TrafficMatrix>& traffic,
                                                       const std::vector<PlacedZone>& steps,
                                                       const std::vector<PlacedZone>& phases,
                                                       const std::vector<PlacedZone>& layers);

// [t0, t1) cut into `n_columns` pixel columns: per column, the largest value of the samples that
// overlap it, or -1 where none does. O(columns + visible samples).
std::vector<double> column_max(const CounterTrack& track, double t0, double t1, int n_columns);

// The sample whose span holds `t`, or null.
const CounterSample* sample_at(const CounterTrack& track, double t);

}  // namespace moescope::ui
