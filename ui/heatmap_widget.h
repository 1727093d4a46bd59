// A heatmap drawn from one GL texture (GL_NEAREST) with ImGui::Image: zoom with the wheel, pan by
// dragging, double-click to reset; the hovered cell comes from arithmetic on the mouse position.
// The texture is re-uploaded only when the caller's data key changes.
#pragma once

#include <cstdint>

#include "ui/colormap.h"
#include "ui/heatmap_image.h"

struct ImVec2;

namespace moescope::ui {

struct HeatmapSlot {
  unsigned int texture = 0;  // GL texture name, 0 until first upload
  int32_t tex_width = 0, tex_height = 0;
  int32_t rows = 0, cols = 0;
  uint64_t key = 0;  // what the texture shows; 0 = nothing yet
  // Visible part of the grid as fractions of its extent (zoom and pan).
  double u0 = 0, u1 = 1, v0 = 0, v1 = 1;
  int uploads = 0;  // texture uploads so far (the benchmark checks it stays flat)
  // A windowed texture holds only the visible part [u0,u1] x [v0,v1] at the plot's pixel size
  // (render_*_window), drawn whole; otherwise the texture holds the whole grid and the widget
  // draws the visible part of it.
  bool windowed = false;
  int32_t plot_width = 0, plot_height = 0;  // framebuffer pixels of the plot at the last draw
  float screen_x0 = 0, screen_y0 = 0, screen_x1 = 0, screen_y1 = 0;  // where the plot was drawn last

  GridWindow window() const { return {v0 * rows, v1 * rows, u0 * cols, u1 * cols}; }

  bool holds(uint64_t data_key) const { return key == data_key && texture != 0; }
  void release();  // deletes the texture; needs the GL context
};

// Largest texture side we create; grids beyond it are max-pooled. GL guarantees 1024; every
// desktop driver (and llvmpipe) does 4096.
inline constexpr int32_t kMaxTextureSide = 4096;

void upload_heatmap(HeatmapSlot& slot, const HeatmapImage& image, uint64_t data_key);
// The key of a windowed slot's texture: the data's key, the visible window and the plot's size.
uint64_t windowed_key(const HeatmapSlot& slot, uint64_t data_key);
// The plot's pixel size for a windowed render before the first draw has measured it.
inline constexpr int32_t kDefaultPlotWidth = 512, kDefaultPlotHeight = 256;

struct HeatmapAxes {
  const char* x_label = "";  // along columns
  const char* y_label = "";  // along rows
  int32_t x_tick_step = 0;   // 0: chosen from the zoom
  int32_t y_tick_step = 0;
};

// What the linked selection marks on a map: a row (a highlighted expert, the current layer) and a
// column (the pinned token, a highlighted expert), in grid cells; -1: none.
struct HeatmapMarks {
  int32_t row = -1;
  int32_t col = -1;
  int32_t boundary_col = -1;  // a dashed line before this column: the first generated token
};

// Draws the slot filling `size` (with room for axis labels inside it). Returns the hovered cell
// (row, col), or (-1, -1); `clicked` (when given) says whether it was clicked this frame (a
// press and release without a drag, which pans).
GridCell draw_heatmap(const char* id, HeatmapSlot& slot, const ImVec2& size, const HeatmapAxes& axes,
                      const HeatmapMarks& marks = {}, bool* clicked = nullptr);

// A vertical colour bar with min/max labels, `size` including the labels.
void draw_colorbar(const ColorLut& lut, float vmin, float vmax, const char* label, const ImVec2& size);

// A legend of categorical swatches for ids [0, n) laid out in a row that wraps; at most `max_items`.
// Returns the id whose swatch was clicked this frame, or -1; `highlighted` is drawn outlined.
int32_t draw_categorical_legend(int32_t n, int32_t max_items, const char* prefix, int32_t highlighted = -1);

}  // namespace moescope::ui
