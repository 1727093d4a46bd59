// The permutation test's null distribution (analysis::jsd_permutation_test: the mean JSD of each
// random split of the runs) binned for Compare's histogram, on a value axis that ends and ticks at
// round numbers, with the bin the observed statistic falls in. GL- and ImGui-free.
#pragma once

#include <cstdint>
#include <vector>

#include "core/analysis/divergence.h"
#include "ui/value_axis.h"

namespace moescope::ui {

struct PermutationHistogram {
  ValueAxis axis;                // 0 .. axis.top covers the null statistics and the observed one
  std::vector<int32_t> bins;     // (n_bins) null statistics per bin of width axis.top / n_bins
  int32_t counted = 0;           // null statistics binned (NaN ones are left out)
  int32_t observed_bin = 0;      // the bin holding test.observed
  double observed_fraction = 0;  // test.observed / axis.top: where the marker goes
};

PermutationHistogram permutation_histogram(const analysis::PermutationTest& test, int32_t n_bins = 40);

}  // namespace moescope::ui
