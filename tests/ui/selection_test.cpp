// Focus: the rules of the linked selection (ui/selection.h) that every view relies on: a range is
// clamped to the run and the whole run means none; each change of range is announced once (the
// revision) so views apply it once; moving the pinned token keeps it inside a range by sliding
// the range; a timeline step range maps to the tokens of those steps.
#include "ui/selection.h"

#include <gtest/gtest.h>

#include <vector>

namespace moescope::ui {
namespace {

TEST(Selection, ARangeIsClampedAndTheWholeRunMeansNone) {
  Selection s;
  s.set_range(-5, 40, 100);
  EXPECT_EQ(s.token_begin, 0);
  EXPECT_EQ(s.token_end, 40);
  EXPECT_TRUE(s.has_range());
  s.set_range(0, 100, 100);
  EXPECT_FALSE(s.has_range());
  s.set_range(30, 30, 100);
  EXPECT_FALSE(s.has_range()) << "an empty range selects nothing, so it is no range";
  s.set_range(90, 500, 100);
  EXPECT_EQ(s.token_end, 100);
  const auto [u0, u1] = s.range_fraction(100);
  EXPECT_DOUBLE_EQ(u0, 0.9);
  EXPECT_DOUBLE_EQ(u1, 1.0);
}

TEST(Selection, EachChangeOfRangeBumpsTheRevisionOnce) {
  Selection s;
  const uint64_t r0 = s.range_revision;
  s.set_range(10, 20, 100);
  EXPECT_EQ(s.range_revision, r0 + 1);
  s.set_range(10, 20, 100);
  EXPECT_EQ(s.range_revision, r0 + 1) << "setting the same range again is no change";
  s.clear_range();
  EXPECT_EQ(s.range_revision, r0 + 2);
  s.clear_range();
  EXPECT_EQ(s.range_revision, r0 + 2);
}

TEST(Selection, MovingThePinnedTokenSlidesTheRangeAlong) {
  Selection s;
  s.move_pinned(1, 50);
  EXPECT_EQ(s.pinned_token, 0) << "with nothing pinned the first key press pins the first token";
  s.move_pinned(-3, 50);
  EXPECT_EQ(s.pinned_token, 0) << "clamped at the run's start";
  s.set_range(10, 20, 50);
  s.pinned_token = 19;
  s.move_pinned(1, 50);
  EXPECT_EQ(s.pinned_token, 20);
  EXPECT_EQ(s.token_begin, 11);
  EXPECT_EQ(s.token_end, 21) << "the range keeps its width and follows the pinned token";
  s.pinned_token = 11;
  s.move_pinned(-10, 50);
  EXPECT_EQ(s.pinned_token, 1);
  EXPECT_EQ(s.token_begin, 1);
  EXPECT_EQ(s.token_end, 11);
  s.pinned_token = 49;
  s.move_pinned(5, 50);
  EXPECT_EQ(s.pinned_token, 49);
}

TEST(Selection, ClickingTheHighlightedExpertAgainClearsIt) {
  Selection s;
  s.toggle_expert(7);
  EXPECT_EQ(s.expert, 7);
  s.toggle_expert(3);
  EXPECT_EQ(s.expert, 3);
  s.toggle_expert(3);
  EXPECT_EQ(s.expert, -1);
}

TEST(Selection, StepsMapToTheirTokens) {
  // A prefill of 4 tokens at step 0, then one token per decode step 1..5.
  const std::vector<int64_t> steps = {0, 0, 0, 0, 1, 2, 3, 4, 5};
  EXPECT_EQ(tokens_of_steps(steps, 0, 0), std::make_pair(0, 4));
  EXPECT_EQ(tokens_of_steps(steps, 1, 3), std::make_pair(4, 7));
  EXPECT_EQ(tokens_of_steps(steps, 5, 9), std::make_pair(8, 9));
  const auto none = tokens_of_steps(steps, 7, 9);
  EXPECT_EQ(none.first, none.second);
}

}  // namespace
}  // namespace moescope::ui
