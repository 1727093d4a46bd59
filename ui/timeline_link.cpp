#include "ui/timeline_link.h"

#include <algorithm>

#include "ui/app_state.h"

namespace moescope::ui {

std::pair<int64_t, int64_t> steps_in_view(const std::vector<PlacedZone>& steps, double begin_us,
                                          double end_us) {
  if (steps.empty() || end_us <= begin_us) return {-1, -1};
  auto mid = [](const PlacedZone& z) { return (z.begin_us + z.end_us) * 0.5; };
  // Steps are laid end to end, so their middles are sorted.
  const auto first = std::lower_bound(steps.begin(), steps.end(), begin_us,
                                      [&](const PlacedZone& z, double t) { return mid(z) < t; });
  const auto last =
      std::lower_bound(first, steps.end(), end_us, [&](const PlacedZone& z, double t) { return mid(z) < t; });
  if (first != last) return {first->step, std::prev(last)->step};
  // No middle in view: zoomed inside a step (or past either end). The step under the view's centre.
  const double centre = (begin_us + end_us) * 0.5;
  const auto under = std::lower_bound(steps.begin(), steps.end(), centre,
                                      [](const PlacedZone& z, double t) { return z.end_us <= t; });
  if (under == steps.end() || under->begin_us > centre) return {-1, -1};
  return {under->step, under->step};
}

}  // namespace moescope::ui
