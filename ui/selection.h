// The one selection every view reads and writes (issue #18's linked selection): a token range,
// a pinned token and a highlighted expert. A range zoomed in the heatmaps is the range the token
// view scrolls to and the timeline measures; a token pinned anywhere is pinned everywhere; an
// expert picked in a legend, a heatmap row or the compare list is marked in every view. No ImGui:
// the rules are tested on their own (tests/ui/selection_test.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <utility>

namespace moescope::ui {

struct Selection {
  int32_t token_begin = 0, token_end = 0;  // [begin, end) of the run's tokens; empty: all of them
  int32_t pinned_token = -1;               // -1: none
  int32_t expert = -1;                     // highlighted expert id; -1: none
  // Bumped whenever the range changes, so each view applies a range set elsewhere once and
  // otherwise keeps its own zoom.
  uint64_t range_revision = 0;

  bool has_range() const { return token_end > token_begin; }
  // Sets the range (clamped to [0, n_tokens)); the whole run, or less than one token, clears it.
  void set_range(int32_t begin, int32_t end, int32_t n_tokens);
  void clear_range();
  // The range as fractions of the run's tokens: (0, 1) without one.
  std::pair<double, double> range_fraction(int32_t n_tokens) const;
  // Moves the pinned token by `delta` (pinning the range's first token when none is pinned) and,
  // when it leaves the range, slides the range along so it stays in view.
  void move_pinned(int32_t delta, int32_t n_tokens);
  // Clicking the highlighted expert again clears it.
  void toggle_expert(int32_t e) { expert = expert == e ? -1 : e; }
  // A new run (or session): token indexes mean other tokens now.
  void reset_tokens();
};

// The tokens whose forward steps overlap [first_step, last_step]: `step_of_token` is non-decreasing
// (analysis::RoutingArrays). Empty range when no token lies there.
std::pair<int32_t, int32_t> tokens_of_steps(std::span<const int64_t> step_of_token, int64_t first_step,
                                            int64_t last_step);

}  // namespace moescope::ui
