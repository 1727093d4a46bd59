// The views' value axes end and tick at round numbers (ui/value_axis.h).
#include "ui/value_axis.h"

#include <gtest/gtest.h>

namespace moescope::ui {
namespace {

TEST(ValueAxis, StepsAreOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_DOUBLE_EQ(round_tick_step(0.63), 0.5);
  EXPECT_DOUBLE_EQ(round_tick_step(1.4), 1.0);
  EXPECT_DOUBLE_EQ(round_tick_step(2.9), 2.0);
  EXPECT_DOUBLE_EQ(round_tick_step(80.0), 100.0);
  EXPECT_DOUBLE_EQ(round_tick_step(0.004), 0.005);
}

TEST(ValueAxis, EndsAtTheFirstTickAtOrAboveTheLargestValue) {
  // The Routing lab's demo chart: max violation up to 2.512 drew ticks 0, 0.63, 1.3, 1.9, 2.5.
  const ValueAxis a = round_value_axis(2.512);
  EXPECT_DOUBLE_EQ(a.step, 0.5);
  EXPECT_DOUBLE_EQ(a.top, 3.0);
  const ValueAxis exact = round_value_axis(2.0);
  EXPECT_DOUBLE_EQ(exact.step, 0.5);
  EXPECT_DOUBLE_EQ(exact.top, 2.0);
  const ValueAxis empty = round_value_axis(0.0);
  EXPECT_DOUBLE_EQ(empty.top, 1.0);
}

}  // namespace
}  // namespace moescope::ui
