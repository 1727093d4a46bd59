#include "ui/timeline_counters.h"

#include <algorithm>
#include <unordered_map>

#include "ui/app_state.h"
#include "ui/timeline_tracks.h"

namespace moescope::ui {
namespace {

// The step zones in time order carry ascending step numbers (prepare_tracks walks the timings
// sorted by step); the zone of `step`, or null.
const PlacedZone* counter_step_zone(const std::vector<PlacedZone>& steps, int64_t step) {
  const auto it = std::lower_bound(steps.begin(), steps.end(), step,
                                   [](const PlacedZone& z, int64_t s) { return z.step < s; });
  return it != steps.end() && it->step == step ? &*it : nullptr;
}

// Tokens [first, last) of `step` in the non-decreasing step_of_token.
std::pair<size_t, size_t> counter_tokens_of_step(std::span<const int64_t> step_of_token, int64_t step) {
  const auto first = std::lower_bound(step_of_token.begin(), step_of_token.end(), step);
  const auto last = std::upper_bound(first, step_of_token.end(), step);
  return {static_cast<size_t>(first - step_of_token.begin()),
          static_cast<size_t>(last - step_of_token.begin())};
}

void set_counter_max(CounterTrack& track) {
  track.max_value = 0;
  for (const CounterSample& s : track.samples) track.max_value = std::max(track.max_value, s.value);
}

}  // namespace

CounterTrack tokens_per_second(std::span<const int64_t> step_of_token, const std::vector<PlacedZone>& steps) {
  CounterTrack track;
  for (const PlacedZone& z : steps) {
    const double seconds = (z.end_us - z.begin_us) * 1e-6;
    if (seconds <= 0) continue;
    const auto [first, last] = counter_tokens_of_step(step_of_token, z.step);
    track.samples.push_back({z.begin_us, z.end_us, z.step, static_cast<double>(last - first) / seconds});
  }
  set_counter_max(track);
  return track;
}

CounterTrack expert_tokens_per_step(const analysis::RoutingArrays& r, const std::vector<PlacedZone>& steps,
                                    int32_t layer, int32_t expert) {
  CounterTrack track;
  if (layer < 0 || layer >= r.n_layers || expert < 0 || expert >= r.n_experts) return track;
  for (const PlacedZone& z : steps) {
    const auto [first, last] = counter_tokens_of_step(r.step_of_token, z.step);
    int64_t n = 0;
    for (size_t t = first; t < last; ++t) {
      const int32_t* ids = r.topk_ids.data() + r.topk_offset(layer, static_cast<int32_t>(t));
      n += std::find(ids, ids + r.top_k, expert) != ids + r.top_k ? 1 : 0;
    }
    track.samples.push_back({z.begin_us, z.end_us, z.step, static_cast<double>(n)});
  }
  set_counter_max(track);
  return track;
}

std::vector<ModelledExchange> place_modelled_exchanges(const std::vector<TrafficMatrix>& traffic,
                                                       const std::vector<PlacedZone>& steps,
                                                       const std::vector<PlacedZone>& phases,
                                                       const std::vector<PlacedZone>& layers) {
  std::vector<ModelledExchange> out;
  out.reserve(traffic.size());
  struct Where {
    double first_all_to_all = -1, all_to_all_us = 0, layer_begin = -1;
  };
  std::unordered_map<int32_t, Where> where;  // by layer id, for the step being placed
  size_t i = 0;
  while (i < traffic.size()) {
    const int64_t step = traffic[i].step;
    size_t j = i;
    while (j < traffic.size() && traffic[j].step == step) ++j;
    const PlacedZone* s = counter_step_zone(steps, step);
    if (s == nullptr) {  // a step with traffic but no timings: nothing to place it against
      i = j;
      continue;
    }
    where.clear();
    const auto [p0, p1] = visible_range(phases, s->begin_us, s->end_us);
    for (size_t k = p0; k < p1; ++k) {
      const PlacedZone& z = phases[k];
      if (z.step != step || z.phase != static_cast<int32_t>(Phase::all_to_all)) continue;
      Where& w = where[z.layer];
      if (w.first_all_to_all < 0) w.first_all_to_all = z.begin_us;
      w.all_to_all_us += z.end_us - z.begin_us;
    }
    const auto [l0, l1] = visible_range(layers, s->begin_us, s->end_us);
    for (size_t k = l0; k < l1; ++k) {
      if (layers[k].step == step) where[layers[k].layer].layer_begin = layers[k].begin_us;
    }
    for (size_t k = i; k < j; ++k) {
      const TrafficMatrix& m = traffic[k];
      const auto it = where.find(m.layer);
      if (it == where.end()) continue;  // a layer the timings do not show
      const Where& w = it->second;
      const double begin = w.first_all_to_all >= 0 ? w.first_all_to_all : w.layer_begin;
      out.push_back({begin, begin + std::max(0.0, m.modeled_us), step, m.layer, m.modeled_us, m.measured_us,
                     w.all_to_all_us});
    }
    i = j;
  }
  std::sort(out.begin(), out.end(),
            [](const ModelledExchange& a, const ModelledExchange& b) { return a.begin_us < b.begin_us; });
  // A prediction longer than the layer would overlap the next one: cut it there, so the track stays
  // one row of non-overlapping zones (the tooltip still says the whole modelled time).
  for (size_t k = 0; k + 1 < out.size(); ++k) out[k].end_us = std::min(out[k].end_us, out[k + 1].begin_us);
  return out;
}

std::vector<double> column_max(const CounterTrack& track, double t0, double t1, int n_columns) {
  std::vector<double> out(static_cast<size_t>(std::max(0, n_columns)), -1.0);
  if (n_columns <= 0 || t1 <= t0) return out;
  const auto& s = track.samples;
  const double dt = (t1 - t0) / n_columns;
  size_t i =
      static_cast<size_t>(std::lower_bound(s.begin(), s.end(), t0,
                                           [](const CounterSample& c, double t) { return c.end_us <= t; }) -
                          s.begin());
  for (int c = 0; c < n_columns; ++c) {
    const double c0 = t0 + dt * c, c1 = c0 + dt;
    while (i < s.size() && s[i].end_us <= c0) ++i;
    double best = -1.0;
    for (size_t k = i; k < s.size() && s[k].begin_us < c1; ++k) best = std::max(best, s[k].value);
    out[static_cast<size_t>(c)] = best;
  }
  return out;
}

const CounterSample* sample_at(const CounterTrack& track, double t) {
  const auto& s = track.samples;
  const auto it =
      std::lower_bound(s.begin(), s.end(), t, [](const CounterSample& c, double v) { return c.end_us <= v; });
  return it != s.end() && it->begin_us <= t ? &*it : nullptr;
}

}  // namespace moescope::ui
