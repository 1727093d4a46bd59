// Value axes at round numbers for the views' bar charts and colour bars: ticks 1, 2 or 5 times a
// power of ten, so a figure taken for a paper reads 0, 0.5, 1, 1.5 rather than 0, 0.63, 1.3, 1.9.
#pragma once

#include <imgui.h>

namespace moescope::ui {

// The round step (1, 2 or 5 x 10^n) nearest `raw` (> 0).
double round_tick_step(double raw);

struct ValueAxis {
  double step = 1;  // between ticks
  double top = 1;   // the axis' end: the first tick at or above the largest value
};

// About `target_ticks` steps from 0 up to `largest` (<= 0 gives the axis 0..1).
ValueAxis round_value_axis(double largest, int target_ticks = 4);

// Grid lines across [x0, x1] at each tick of `axis` (0 at y_zero, top at y_top), labelled to the
// left of x0.
void draw_value_axis(ImDrawList* dl, const ValueAxis& axis, float x0, float x1, float y_top, float y_zero);

}  // namespace moescope::ui
