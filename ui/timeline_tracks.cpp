#include "ui/timeline_tracks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace moescope::ui {

std::string format_us(double us) {
  char buf[32];
  if (std::fabs(us) >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.3f s", us / 1e6);
  } else if (std::fabs(us) >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f us", us);
  }
  return buf;
}

void prepare_tracks(const RunData& run, TimelineState& s) {
  s.steps.clear();
  s.layers.clear();
  s.phases.clear();
  double offset = 0;
  size_t i = 0;
  const auto& z = run.timings;
  while (i < z.size()) {
    const int64_t step = z[i].step;
    double step_end = 0;
    size_t j = i;
    for (; j < z.size() && z[j].step == step; ++j) step_end = std::max(step_end, z[j].start_us + z[j].duration_us);
    s.steps.push_back({offset, offset + step_end, step, -1, -1});
    // Layer spans: from a layer's first zone to its last; zones outside layers have layer -1.
    for (size_t k = i; k < j;) {
      const int32_t layer = z[k].layer;
      double begin = z[k].start_us, end = z[k].start_us + z[k].duration_us;
      size_t m = k;
      for (; m < j && z[m].layer == layer; ++m) end = std::max(end, z[m].start_us + z[m].duration_us);
      if (layer >= 0) s.layers.push_back({offset + begin, offset + end, step, layer, -1});
      k = m;
    }
    for (size_t k = i; k < j; ++k) {
      s.phases.push_back({offset + z[k].start_us, offset + z[k].start_us + z[k].duration_us, step, z[k].layer, static_cast<int32_t>(z[k].phase)});
    }
    offset += step_end;
    i = j;
  }
  // Engines report nested zones at most this way; sort defensively so the binary search holds.
  auto by_begin = [](const PlacedZone& a, const PlacedZone& b) { return a.begin_us < b.begin_us; };
  std::sort(s.phases.begin(), s.phases.end(), by_begin);
  std::sort(s.layers.begin(), s.layers.end(), by_begin);
  s.total_us = offset;
}

std::pair<size_t, size_t> visible_range(const std::vector<PlacedZone>& track, double begin_us, double end_us) {
  // Zones do not overlap, so their ends are sorted too.
  const auto first = std::lower_bound(track.begin(), track.end(), begin_us,
                                      [](const PlacedZone& z, double t) { return z.end_us <= t; });
  const auto last = std::lower_bound(first, track.end(), end_us, [](const PlacedZone& z, double t) { return z.begin_us < t; });
  return {static_cast<size_t>(first - track.begin()), static_cast<size_t>(last - track.begin())};
}

std::vector<PhaseStats> phase_stats(const TimelineState& s, double begin_us, double end_us) {
  std::vector<PhaseStats> out(static_cast<size_t>(kPhaseCount));
  const auto [first, last] = visible_range(s.phases, begin_us, end_us);
  for (size_t i = first; i < last; ++i) {
    const PlacedZone& z = s.phases[i];
    const double d = std::min(z.end_us, end_us) - std::max(z.begin_us, begin_us);
    if (d <= 0 || z.phase < 0) continue;
    PhaseStats& p = out[static_cast<size_t>(z.phase)];
    ++p.count;
    p.total_us += d;
    p.max_us = std::max(p.max_us, z.end_us - z.begin_us);
  }
  return out;
}

}  // namespace moescope::ui
