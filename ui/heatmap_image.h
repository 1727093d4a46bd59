// Turns a (rows, cols) grid of values into RGBA pixels for a GL texture, max-pooling blocks of
// cells into one pixel when the grid is larger than the texture may be: averaging would hide a
// hot expert, the maximum keeps it visible. GL-free so it can be tested and timed alone.
#pragma once

#include <cstdint>
#include <vector>

#include "ui/colormap.h"

namespace moescope::ui {

struct HeatmapImage {
  int32_t width = 0, height = 0;
  std::vector<uint32_t> rgba;  // (height, width) packed 0xAABBGGRR
  int32_t rows = 0, cols = 0;  // the grid it was made from
};


// Sequential data, coloured with `lut` over [vmin, vmax]; blocks larger than one pixel keep their
// maximum. The image is at most max_width x max_height.
HeatmapImage render_heatmap(int32_t rows, int32_t cols, const float* values, float vmin, float vmax,
                            const ColorLut& lut, int32_t max_width, int32_t max_height);

// Categorical data (expert ids; negative = none): each pixel takes the id of the block's first
// cell, since the maximum of ids means nothing.
HeatmapImage render_categorical(int32_t rows, int32_t cols, const int32_t* ids, int32_t max_width,
                                int32_t max_height);

// The (row, col) under a point at fraction (u, v) of the grid's full extent; -1 outside.
struct GridCell {
  int32_t row = -1, col = -1;
};
GridCell cell_at(int32_t rows, int32_t cols, double u, double v);

}  // namespace moescope::ui
