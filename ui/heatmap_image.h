// Turns a (rows, cols) grid of values into RGBA pixels for a GL texture. The *_window forms
// render the visible part of the grid at exactly the plot's screen pixels, so no cell is ever
// skipped by nearest sampling: each pixel pools the cells it covers, by their maximum (a hot
// expert stays visible) or their mean (the user picks), or for expert ids by the most frequent.
// GL-free so it can be tested and timed alone.
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


enum class Pooling : uint8_t { max, mean };
inline constexpr int kPoolingCount = 2;

// The visible part of a grid in cell units: rows [row0, row1) and columns [col0, col1), fractional
// at the edges when zoomed.
struct GridWindow {
  double row0 = 0, row1 = 0, col0 = 0, col1 = 0;
};

// Sequential data in `window`, width x height pixels, coloured with `lut` over [vmin, vmax].
// row_order / col_order (empty: identity) give the grid row / column shown at each display row /
// column (an expert order). A pixel covering several cells pools them; a pixel inside one cell
// (zoomed in) shows that cell. NaN cells are skipped; a pixel of only NaN stays transparent.
HeatmapImage render_heatmap_window(int32_t rows, int32_t cols, const float* values, const std::vector<int32_t>& row_order,
                                   const std::vector<int32_t>& col_order, GridWindow window, int32_t width,
                                   int32_t height, Pooling pooling, float vmin, float vmax, const ColorLut& lut);

// Expert ids (negative = none) in `window`, width x height pixels: each pixel takes the id most
// frequent among its cells (ties: the lower id; none only when every cell is none), coloured by
// `palette` (kNoExpertColor for none).
HeatmapImage render_categorical_window(int32_t rows, int32_t cols, const int32_t* ids, GridWindow window, int32_t width,
                                       int32_t height, const ExpertPalette& palette);

// Sequential data, coloured with `lut` over [vmin, vmax]; blocks larger than one pixel keep their
// maximum. The image is at most max_width x max_height.
HeatmapImage render_heatmap(int32_t rows, int32_t cols, const float* values, float vmin, float vmax,
                            const ColorLut& lut, int32_t max_width, int32_t max_height);

// The (row, col) under a point at fraction (u, v) of the grid's full extent; -1 outside.
struct GridCell {
  int32_t row = -1, col = -1;
};
GridCell cell_at(int32_t rows, int32_t cols, double u, double v);

}  // namespace moescope::ui
