#include "ui/permutation_histogram.h"

#include <algorithm>
#include <cmath>

namespace moescope::ui {

PermutationHistogram permutation_histogram(const analysis::PermutationTest& test, int32_t n_bins) {
  PermutationHistogram h;
  n_bins = std::max(1, n_bins);
  double largest = std::isnan(test.observed) ? 0 : test.observed;
  for (double v : test.null_statistics) {
    if (!std::isnan(v)) largest = std::max(largest, v);
  }
  h.axis = round_value_axis(largest);
  h.bins.assign(static_cast<size_t>(n_bins), 0);
  auto bin_of = [&](double v) {
    return std::clamp(static_cast<int32_t>(v / h.axis.top * n_bins), 0, n_bins - 1);
  };
  for (double v : test.null_statistics) {
    if (std::isnan(v)) continue;
    ++h.bins[static_cast<size_t>(bin_of(v))];
    ++h.counted;
  }
  const double observed = std::isnan(test.observed) ? 0 : test.observed;
  h.observed_bin = bin_of(observed);
  h.observed_fraction = std::clamp(observed / h.axis.top, 0.0, 1.0);
  return h;
}

}  // namespace moescope::ui
