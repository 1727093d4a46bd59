#include "ui/heatmap_image.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace moescope::ui {
namespace {

// Pixel p covers cells [p*n/pixels, (p+1)*n/pixels).
int32_t block_begin(int32_t pixel, int32_t n, int32_t pixels) {
  return static_cast<int32_t>(static_cast<int64_t>(pixel) * n / pixels);
}

// The cells pixel p of `pixels` covers along an axis showing cells [a, b) of n: at least the cell
// under the pixel's centre, clamped to the grid.
struct CellSpan {
  int32_t begin = 0, end = 0;
};
std::vector<CellSpan> pixel_spans(double a, double b, int32_t pixels, int32_t n) {
  std::vector<CellSpan> spans(static_cast<size_t>(std::max(0, pixels)));
  const double per_pixel = (b - a) / pixels;
  for (int32_t p = 0; p < pixels; ++p) {
    const double lo = a + p * per_pixel, hi = lo + per_pixel;
    auto begin = static_cast<int32_t>(std::floor(lo + 1e-9));
    auto end = static_cast<int32_t>(std::ceil(hi - 1e-9));
    if (end <= begin) {
      begin = static_cast<int32_t>(std::floor(lo + per_pixel * 0.5));
      end = begin + 1;
    }
    spans[static_cast<size_t>(p)] = {std::clamp(begin, 0, n - 1), std::clamp(end, 1, n)};
  }
  return spans;
}

int32_t mapped(const std::vector<int32_t>& order, int32_t i) { return order.empty() ? i : order[static_cast<size_t>(i)]; }

}  // namespace

HeatmapImage render_heatmap_window(int32_t rows, int32_t cols, const float* values, const std::vector<int32_t>& row_order,
                                   const std::vector<int32_t>& col_order, GridWindow window, int32_t width,
                                   int32_t height, Pooling pooling, float vmin, float vmax, const ColorLut& lut) {
  HeatmapImage img;
  img.rows = rows;
  img.cols = cols;
  img.width = std::max(1, width);
  img.height = std::max(1, height);
  img.rgba.assign(static_cast<size_t>(img.width) * img.height, 0u);
  if (rows <= 0 || cols <= 0 || !(window.row1 > window.row0) || !(window.col1 > window.col0)) return img;
  const auto row_spans = pixel_spans(window.row0, window.row1, img.height, rows);
  const auto col_spans = pixel_spans(window.col0, window.col1, img.width, cols);
  const float scale = vmax > vmin ? 255.0f / (vmax - vmin) : 0.0f;
  // Columns are pooled per grid row into a row of pixels, then those rows are pooled, so each
  // visible cell is read once per pixel column it falls in.
  std::vector<float> acc(static_cast<size_t>(img.width));
  std::vector<int32_t> count(static_cast<size_t>(img.width));
  for (int32_t py = 0; py < img.height; ++py) {
    std::fill(acc.begin(), acc.end(), pooling == Pooling::max ? -INFINITY : 0.0f);
    std::fill(count.begin(), count.end(), 0);
    for (int32_t dr = row_spans[static_cast<size_t>(py)].begin; dr < row_spans[static_cast<size_t>(py)].end; ++dr) {
      const float* row = values + static_cast<size_t>(mapped(row_order, dr)) * cols;
      for (int32_t px = 0; px < img.width; ++px) {
        const CellSpan span = col_spans[static_cast<size_t>(px)];
        float a = acc[static_cast<size_t>(px)];
        int32_t k = count[static_cast<size_t>(px)];
        for (int32_t dc = span.begin; dc < span.end; ++dc) {
          const float v = row[mapped(col_order, dc)];
          if (std::isnan(v)) continue;
          a = pooling == Pooling::max ? std::max(a, v) : a + v;
          ++k;
        }
        acc[static_cast<size_t>(px)] = a;
        count[static_cast<size_t>(px)] = k;
      }
    }
    uint32_t* out = img.rgba.data() + static_cast<size_t>(py) * img.width;
    for (int32_t px = 0; px < img.width; ++px) {
      const int32_t k = count[static_cast<size_t>(px)];
      if (k == 0) continue;  // all NaN: transparent
      const float v = pooling == Pooling::max ? acc[static_cast<size_t>(px)] : acc[static_cast<size_t>(px)] / static_cast<float>(k);
      out[px] = lut[static_cast<size_t>(std::clamp((v - vmin) * scale, 0.0f, 255.0f))];
    }
  }
  return img;
}

HeatmapImage render_categorical_window(int32_t rows, int32_t cols, const int32_t* ids, GridWindow window, int32_t width,
                                       int32_t height, const ExpertPalette& palette) {
  HeatmapImage img;
  img.rows = rows;
  img.cols = cols;
  img.width = std::max(1, width);
  img.height = std::max(1, height);
  img.rgba.assign(static_cast<size_t>(img.width) * img.height, 0u);
  if (rows <= 0 || cols <= 0 || !(window.row1 > window.row0) || !(window.col1 > window.col0)) return img;
  const auto row_spans = pixel_spans(window.row0, window.row1, img.height, rows);
  const auto col_spans = pixel_spans(window.col0, window.col1, img.width, cols);
  // Votes per id, cleared after each pixel through the list of ids it touched.
  int32_t max_id = -1;
  for (size_t i = 0, n = static_cast<size_t>(rows) * cols; i < n; ++i) max_id = std::max(max_id, ids[i]);
  std::vector<int32_t> votes(static_cast<size_t>(max_id + 1), 0);
  std::vector<int32_t> touched;
  for (int32_t py = 0; py < img.height; ++py) {
    const CellSpan rs = row_spans[static_cast<size_t>(py)];
    uint32_t* out = img.rgba.data() + static_cast<size_t>(py) * img.width;
    for (int32_t px = 0; px < img.width; ++px) {
      const CellSpan cs = col_spans[static_cast<size_t>(px)];
      int32_t best = -1;
      for (int32_t r = rs.begin; r < rs.end; ++r) {
        const int32_t* row = ids + static_cast<size_t>(r) * cols;
        for (int32_t c = cs.begin; c < cs.end; ++c) {
          const int32_t id = row[c];
          if (id < 0) continue;
          if (votes[static_cast<size_t>(id)]++ == 0) touched.push_back(id);
          const int32_t v = votes[static_cast<size_t>(id)], b = best < 0 ? 0 : votes[static_cast<size_t>(best)];
          if (v > b || (v == b && id < best)) best = id;
        }
      }
      for (int32_t id : touched) votes[static_cast<size_t>(id)] = 0;
      touched.clear();
      out[px] = best < 0 ? kNoExpertColor : palette.of(best);
    }
  }
  return img;
}

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

GridCell cell_at(int32_t rows, int32_t cols, double u, double v) {
  if (!(u >= 0 && u < 1 && v >= 0 && v < 1)) return {};
  return {std::min(rows - 1, static_cast<int32_t>(v * rows)), std::min(cols - 1, static_cast<int32_t>(u * cols))};
}

}  // namespace moescope::ui
