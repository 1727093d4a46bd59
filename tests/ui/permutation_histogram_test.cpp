// Focus: Compare's histogram of the permutation test's null distribution
// (ui/permutation_histogram.h): every finite null statistic lands in exactly one bin of a round
// axis that covers it and the observed JSD, NaN splits are left out, and the observed statistic's
// bin and marker position are where its value says.
#include "ui/permutation_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace moescope::ui {
namespace permutation_histogram_test {

TEST(PermutationHistogram, BinsEveryFiniteNullStatisticOnARoundAxisWithTheObservedMarked) {
  analysis::PermutationTest test;
  test.observed = 0.37;
  test.null_statistics = {0.01, 0.02, 0.02, 0.05, 0.11, std::nan(""), 0.2, 0.0};
  test.n_permutations = static_cast<int32_t>(test.null_statistics.size());
  const PermutationHistogram h = permutation_histogram(test, 10);
  EXPECT_DOUBLE_EQ(h.axis.top, 0.4) << "0.37 rounds up to the tick at 0.4";
  EXPECT_DOUBLE_EQ(h.axis.step, 0.1);
  ASSERT_EQ(h.bins.size(), 10u);
  EXPECT_EQ(h.counted, 7) << "the NaN split is left out";
  EXPECT_EQ(std::accumulate(h.bins.begin(), h.bins.end(), 0), 7);
  EXPECT_EQ(h.bins[0], 4) << "0, 0.01, 0.02, 0.02 lie in [0, 0.04)";
  EXPECT_EQ(h.bins[1], 1) << "0.05";
  EXPECT_EQ(h.bins[2], 1) << "0.11";
  EXPECT_EQ(h.bins[5], 1) << "0.2";
  EXPECT_EQ(h.observed_bin, 9);
  EXPECT_NEAR(h.observed_fraction, 0.37 / 0.4, 1e-12);
}

TEST(PermutationHistogram, ANullStatisticAboveTheObservedWidensTheAxis) {
  analysis::PermutationTest test;
  test.observed = 0.02;
  test.null_statistics = {0.01, 0.9};
  const PermutationHistogram h = permutation_histogram(test, 4);
  EXPECT_DOUBLE_EQ(h.axis.top, 1.0);
  EXPECT_EQ(h.bins, (std::vector<int32_t>{1, 0, 0, 1}));
  EXPECT_EQ(h.observed_bin, 0);
  EXPECT_NEAR(h.observed_fraction, 0.02, 1e-12);
}

}  // namespace permutation_histogram_test
}  // namespace moescope::ui
