#include "ui/heatmap_image.h"

#include <algorithm>
#include <cmath>

namespace moescope::ui {
namespace {

// Pixel p covers cells [p*n/pixels, (p+1)*n/pixels).
int32_t block_begin(int32_t pixel, int32_t n, int32_t pixels) {
  return static_cast<int32_t>(static_cast<int64_t>(pixel) * n / pixels);
}

}  // namespace

HeatmapImage render_heatmap(int32_t rows, int32_t cols, const float* values, float vmin, float vmax,
                            const ColorLut& lut, int32_t max_width, int32_t max_height) {
  HeatmapImage img;
  img.rows = rows;
  img.cols = cols;
  img.width = std::max(1, std::min(cols, max_width));
  img.height = std::max(1, std::min(rows, max_height));
  img.rgba.assign(static_cast<size_t>(img.width) * img.height, 0u);
  if (rows <= 0 || cols <= 0) return img;
  const float scale = vmax > vmin ? 255.0f / (vmax - vmin) : 0.0f;
  // Pool columns first into a row buffer, then rows, so each cell is read once.
  std::vector<float> pooled(static_cast<size_t>(img.width));
  for (int32_t py = 0; py < img.height; ++py) {
    const int32_t r0 = block_begin(py, rows, img.height), r1 = std::max(r0 + 1, block_begin(py + 1, rows, img.height));
    std::fill(pooled.begin(), pooled.end(), -INFINITY);
    for (int32_t r = r0; r < r1; ++r) {
      const float* row = values + static_cast<size_t>(r) * cols;
      if (img.width == cols) {
        for (int32_t c = 0; c < cols; ++c) pooled[c] = std::max(pooled[c], row[c]);  // NaN is dropped by max
      } else {
        for (int32_t px = 0; px < img.width; ++px) {
          const int32_t c0 = block_begin(px, cols, img.width), c1 = std::max(c0 + 1, block_begin(px + 1, cols, img.width));
          float m = pooled[px];
          for (int32_t c = c0; c < c1; ++c) m = std::max(m, row[c]);
          pooled[px] = m;
        }
      }
    }
    uint32_t* out = img.rgba.data() + static_cast<size_t>(py) * img.width;
    for (int32_t px = 0; px < img.width; ++px) {
      const float v = pooled[px];
      if (!(v > -INFINITY)) continue;  // all NaN: transparent
      const float idx = (v - vmin) * scale;
      out[px] = lut[static_cast<size_t>(std::clamp(idx, 0.0f, 255.0f))];
    }
  }
  return img;
}

HeatmapImage render_categorical(int32_t rows, int32_t cols, const int32_t* ids, int32_t max_width,
                                int32_t max_height) {
  HeatmapImage img;
  img.rows = rows;
  img.cols = cols;
  img.width = std::max(1, std::min(cols, max_width));
  img.height = std::max(1, std::min(rows, max_height));
  img.rgba.assign(static_cast<size_t>(img.width) * img.height, 0u);
  if (rows <= 0 || cols <= 0) return img;
  for (int32_t py = 0; py < img.height; ++py) {
    const int32_t r = block_begin(py, rows, img.height);
    uint32_t* out = img.rgba.data() + static_cast<size_t>(py) * img.width;
    for (int32_t px = 0; px < img.width; ++px) {
      const int32_t id = ids[static_cast<size_t>(r) * cols + block_begin(px, cols, img.width)];
      if (id >= 0) out[px] = categorical_color(id);
    }
  }
  return img;
}

GridCell cell_at(int32_t rows, int32_t cols, double u, double v) {
  if (!(u >= 0 && u < 1 && v >= 0 && v < 1)) return {};
  return {std::min(rows - 1, static_cast<int32_t>(v * rows)), std::min(cols - 1, static_cast<int32_t>(u * cols))};
}

}  // namespace moescope::ui
