#include "ui/heatmap_widget.h"

#include <GL/gl.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/session_data.h"
#include "ui/value_axis.h"

namespace moescope::ui {
namespace {

// A "nice" tick step (1, 2, 5 x 10^n) giving about `target` ticks over `span` cells.
int32_t nice_step(double span, int target) {
  return static_cast<int32_t>(std::max(1.0, round_tick_step(std::max(1.0, span / std::max(1, target)))));
}

void clamp_view(double& a, double& b) {
  const double span = std::clamp(b - a, 1e-6, 1.0);
  a = std::clamp(a, 0.0, 1.0 - span);
  b = a + span;
}

// The selection's row and column, outlined in white over a dark edge so they read on any colour
// map, at least 2 px wide when a cell is thinner than that.
void draw_marks(ImDrawList* dl, const HeatmapSlot& slot, const HeatmapMarks& marks, ImVec2 plot_min, ImVec2 plot_max) {
  if (slot.rows <= 0 || slot.cols <= 0) return;
  dl->PushClipRect(plot_min, plot_max, true);
  auto band = [](double cell, double v0, double v1, int32_t n, float lo, float hi) {
    const double f0 = (cell / n - v0) / (v1 - v0), f1 = ((cell + 1) / n - v0) / (v1 - v0);
    float a = lo + static_cast<float>(f0) * (hi - lo), b = lo + static_cast<float>(f1) * (hi - lo);
    if (b - a < 2.0f) a = (a + b) * 0.5f - 1.0f, b = a + 2.0f;
    return std::make_pair(a, b);
  };
  const ImU32 light = IM_COL32(255, 255, 255, 235), dark = IM_COL32(0, 0, 0, 200);
  if (marks.row >= 0 && marks.row < slot.rows) {
    const auto [y0, y1] = band(marks.row, slot.v0, slot.v1, slot.rows, plot_min.y, plot_max.y);
    dl->AddRect(ImVec2(plot_min.x - 1, y0 - 2), ImVec2(plot_max.x + 1, y1 + 2), dark, 0, 0, 1.0f);
    dl->AddRect(ImVec2(plot_min.x, y0 - 1), ImVec2(plot_max.x, y1 + 1), light, 0, 0, 2.0f);
  }
  if (marks.boundary_col > 0 && marks.boundary_col < slot.cols) {
    // The prompt / generation boundary: dashed, so it never reads as a selection.
    const float x = plot_min.x + static_cast<float>((static_cast<double>(marks.boundary_col) / slot.cols - slot.u0) / (slot.u1 - slot.u0)) *
                                     (plot_max.x - plot_min.x);
    for (float y = plot_min.y; y < plot_max.y; y += 8) {
      dl->AddLine(ImVec2(x, y), ImVec2(x, std::min(y + 4, plot_max.y)), IM_COL32(255, 255, 255, 200), 1.5f);
    }
  }
  if (marks.col >= 0 && marks.col < slot.cols) {
    const auto [x0, x1] = band(marks.col, slot.u0, slot.u1, slot.cols, plot_min.x, plot_max.x);
    dl->AddRect(ImVec2(x0 - 2, plot_min.y - 1), ImVec2(x1 + 2, plot_max.y + 1), dark, 0, 0, 1.0f);
    dl->AddRect(ImVec2(x0 - 1, plot_min.y), ImVec2(x1 + 1, plot_max.y), light, 0, 0, 2.0f);
  }
  dl->PopClipRect();
}

}  // namespace

void HeatmapSlot::release() {
  if (texture != 0) glDeleteTextures(1, &texture);
  texture = 0;
  key = 0;
}

void upload_heatmap(HeatmapSlot& slot, const HeatmapImage& image, uint64_t data_key) {
  if (slot.texture == 0) {
    glGenTextures(1, &slot.texture);
    glBindTexture(GL_TEXTURE_2D, slot.texture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  }
  glBindTexture(GL_TEXTURE_2D, slot.texture);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  if (slot.tex_width != image.width || slot.tex_height != image.height) {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, image.width, image.height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
                 image.rgba.data());
  } else {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, image.width, image.height, GL_RGBA, GL_UNSIGNED_BYTE, image.rgba.data());
  }
  if (slot.rows != image.rows || slot.cols != image.cols) {
    slot.u0 = slot.v0 = 0;
    slot.u1 = slot.v1 = 1;
    if (slot.windowed) data_key = 0;  // the texture showed another window: render it again
  }
  slot.tex_width = image.width;
  slot.tex_height = image.height;
  slot.rows = image.rows;
  slot.cols = image.cols;
  slot.key = data_key;
  ++slot.uploads;
}

uint64_t windowed_key(const HeatmapSlot& slot, uint64_t data_key) {
  uint64_t h = data_key;
  for (double v : {slot.u0, slot.u1, slot.v0, slot.v1}) h = mix_key(h, static_cast<uint64_t>(std::llround(v * (1ull << 40))));
  h = mix_key(h, static_cast<uint64_t>(slot.plot_width) << 20 | static_cast<uint64_t>(slot.plot_height));
  return h;
}

GridCell draw_heatmap(const char* id, HeatmapSlot& slot, const ImVec2& size, const HeatmapAxes& axes,
                      const HeatmapMarks& marks, bool* clicked) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float font = ImGui::GetFontSize();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float left = font * 3.2f, bottom = font * 2.4f;
  const ImVec2 plot_min(origin.x + left, origin.y);
  const ImVec2 plot_size(std::max(16.0f, size.x - left), std::max(16.0f, size.y - bottom));
  const ImVec2 plot_max(plot_min.x + plot_size.x, plot_min.y + plot_size.y);

  ImGui::SetCursorScreenPos(plot_min);
  ImGui::InvisibleButton(id, plot_size);
  const bool hovered = ImGui::IsItemHovered();
  const ImGuiIO& io = ImGui::GetIO();
  if (hovered && io.MouseWheel != 0) {
    // Zoom around the cursor: the wheel zooms columns, with Ctrl rows, with Shift both.
    const double fx = (io.MousePos.x - plot_min.x) / plot_size.x, fy = (io.MousePos.y - plot_min.y) / plot_size.y;
    const double factor = std::pow(0.85, io.MouseWheel);
    auto zoom = [&](double& a, double& b, double f) {
      const double at = a + f * (b - a);
      a = at - (at - a) * factor;
      b = at + (b - at) * factor;
      clamp_view(a, b);
    };
    if (!io.KeyCtrl || io.KeyShift) zoom(slot.u0, slot.u1, fx);
    if (io.KeyCtrl || io.KeyShift) zoom(slot.v0, slot.v1, fy);
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f)) {
    const double du = -io.MouseDelta.x / plot_size.x * (slot.u1 - slot.u0);
    const double dv = -io.MouseDelta.y / plot_size.y * (slot.v1 - slot.v0);
    slot.u0 += du, slot.u1 += du, slot.v0 += dv, slot.v1 += dv;
    clamp_view(slot.u0, slot.u1);
    clamp_view(slot.v0, slot.v1);
  }
  if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) slot.u0 = slot.v0 = 0, slot.u1 = slot.v1 = 1;

  slot.screen_x0 = plot_min.x, slot.screen_y0 = plot_min.y, slot.screen_x1 = plot_max.x, slot.screen_y1 = plot_max.y;
  dl->AddRectFilled(plot_min, plot_max, ImGui::GetColorU32(ImGuiCol_FrameBg));
  const ImVec2 fb_scale = io.DisplayFramebufferScale;
  slot.plot_width = std::max(1, static_cast<int32_t>(plot_size.x * fb_scale.x + 0.5f));
  slot.plot_height = std::max(1, static_cast<int32_t>(plot_size.y * fb_scale.y + 0.5f));
  if (slot.texture != 0) {
    const bool whole = slot.windowed;
    dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(slot.texture)), plot_min, plot_max,
                 whole ? ImVec2(0, 0) : ImVec2(static_cast<float>(slot.u0), static_cast<float>(slot.v0)),
                 whole ? ImVec2(1, 1) : ImVec2(static_cast<float>(slot.u1), static_cast<float>(slot.v1)));
  }
  draw_marks(dl, slot, marks, plot_min, plot_max);
  dl->AddRect(plot_min, plot_max, ImGui::GetColorU32(ImGuiCol_Border));

  // Ticks: cell indices at nice steps over the visible range.
  const ImU32 text_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  char buf[32];
  if (slot.cols > 0) {
    const double c0 = slot.u0 * slot.cols, c1 = slot.u1 * slot.cols;
    const int32_t step = axes.x_tick_step > 0 ? axes.x_tick_step : nice_step(c1 - c0, static_cast<int>(plot_size.x / (font * 5)));
    for (int64_t c = static_cast<int64_t>(std::ceil(c0 / step)) * step; c < c1; c += step) {
      const float x = plot_min.x + static_cast<float>((c + 0.5 - c0) / (c1 - c0)) * plot_size.x;
      if (x > plot_max.x) break;
      dl->AddLine(ImVec2(x, plot_max.y), ImVec2(x, plot_max.y + 4), text_col);
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(c));
      dl->AddText(ImVec2(x - ImGui::CalcTextSize(buf).x * 0.5f, plot_max.y + 4), text_col, buf);
    }
  }
  if (slot.rows > 0) {
    const double r0 = slot.v0 * slot.rows, r1 = slot.v1 * slot.rows;
    const int32_t step = axes.y_tick_step > 0 ? axes.y_tick_step : nice_step(r1 - r0, static_cast<int>(plot_size.y / (font * 2.5f)));
    for (int64_t r = static_cast<int64_t>(std::ceil(r0 / step)) * step; r < r1; r += step) {
      const float y = plot_min.y + static_cast<float>((r + 0.5 - r0) / (r1 - r0)) * plot_size.y;
      dl->AddLine(ImVec2(plot_min.x - 4, y), ImVec2(plot_min.x, y), text_col);
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(r));
      const ImVec2 ts = ImGui::CalcTextSize(buf);
      dl->AddText(ImVec2(plot_min.x - 6 - ts.x, y - ts.y * 0.5f), text_col, buf);
    }
  }
  const ImU32 label_col = ImGui::GetColorU32(ImGuiCol_Text);
  const ImVec2 xl = ImGui::CalcTextSize(axes.x_label);
  dl->AddText(ImVec2(plot_min.x + (plot_size.x - xl.x) * 0.5f, plot_max.y + font + 6), label_col, axes.x_label);
  // The y label sits above the ticks, left-aligned: ImGui 1.86 cannot rotate text.
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + plot_size.y + bottom));
  ImGui::Dummy(ImVec2(size.x, 0));
  if (axes.y_label[0] != '\0') {
    dl->AddText(ImVec2(origin.x, plot_max.y + 4), label_col, axes.y_label);
  }

  if (clicked) *clicked = hovered && ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseDragMaxDistanceSqr[0] < 9.0f;
  if (!hovered || slot.rows <= 0) return {};
  const double fx = (io.MousePos.x - plot_min.x) / plot_size.x, fy = (io.MousePos.y - plot_min.y) / plot_size.y;
  const GridCell cell = cell_at(slot.rows, slot.cols, slot.u0 + fx * (slot.u1 - slot.u0), slot.v0 + fy * (slot.v1 - slot.v0));
  if (cell.row >= 0) {
    // Outline the hovered cell when it is at least a few pixels large.
    const double cw = plot_size.x / ((slot.u1 - slot.u0) * slot.cols), ch = plot_size.y / ((slot.v1 - slot.v0) * slot.rows);
    if (cw >= 3 && ch >= 3) {
      const float x = plot_min.x + static_cast<float>((cell.col - slot.u0 * slot.cols) * cw);
      const float y = plot_min.y + static_cast<float>((cell.row - slot.v0 * slot.rows) * ch);
      dl->PushClipRect(plot_min, plot_max, true);
      dl->AddRect(ImVec2(x, y), ImVec2(x + static_cast<float>(cw), y + static_cast<float>(ch)), IM_COL32(255, 255, 255, 220), 0, 0, 2.0f);
      dl->PopClipRect();
    }
  }
  return cell;
}

void draw_colorbar(const ColorLut& lut, float vmin, float vmax, const char* label, const ImVec2& size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float font = ImGui::GetFontSize();
  const float bar_w = std::min(18.0f * ImGui::GetIO().FontGlobalScale + font * 0.6f, size.x * 0.4f);
  const float top = p.y + font * 1.4f, bottom = p.y + size.y - font * 2.4f;
  dl->AddText(p, ImGui::GetColorU32(ImGuiCol_Text), label);
  constexpr int kSegments = 64;
  for (int i = 0; i < kSegments; ++i) {
    // Top is the maximum.
    const float y0 = top + (bottom - top) * i / kSegments, y1 = top + (bottom - top) * (i + 1) / kSegments;
    const ImU32 c0 = lut[static_cast<size_t>(255 - i * 255 / kSegments)];
    const ImU32 c1 = lut[static_cast<size_t>(255 - (i + 1) * 255 / kSegments)];
    dl->AddRectFilledMultiColor(ImVec2(p.x, y0), ImVec2(p.x + bar_w, y1), c0, c0, c1, c1);
  }
  dl->AddRect(ImVec2(p.x, top), ImVec2(p.x + bar_w, bottom), ImGui::GetColorU32(ImGuiCol_Border));
  // Ticks at round values (1, 2 or 5 times a power of ten), about four over the range.
  char buf[32];
  const ImU32 tc = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const double span = static_cast<double>(vmax) - vmin;
  if (span > 0) {
    const double step = round_tick_step(span / 4);
    for (double v = std::ceil(vmin / step) * step; v <= vmax + step * 1e-6; v += step) {
      const float y = bottom - static_cast<float>((v - vmin) / span) * (bottom - top);
      std::snprintf(buf, sizeof buf, "%.4g", std::fabs(v) < step * 1e-6 ? 0.0 : v);
      dl->AddLine(ImVec2(p.x + bar_w, y), ImVec2(p.x + bar_w + 4, y), tc);
      dl->AddText(ImVec2(p.x + bar_w + 6, y - font * 0.5f), tc, buf);
    }
  }
  ImGui::Dummy(size);
}

int32_t draw_categorical_legend(int32_t n, int32_t max_items, const char* prefix, int32_t highlighted) {
  int32_t clicked = -1;
  const float sw = ImGui::GetFontSize() * 0.8f;
  const int32_t shown = std::min(n, max_items);
  const float avail = ImGui::GetContentRegionAvail().x;
  float x = 0;
  char buf[32];
  for (int32_t i = 0; i < shown; ++i) {
    std::snprintf(buf, sizeof buf, "%s%d", prefix, i);
    const float w = sw + 4 + ImGui::CalcTextSize(buf).x + 12;
    if (i > 0 && x + w < avail) {
      ImGui::SameLine(0, 0);
    } else {
      x = 0;
    }
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float dy = (ImGui::GetTextLineHeight() - sw) * 0.5f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(ImVec2(p.x, p.y + dy), ImVec2(p.x + sw, p.y + dy + sw), categorical_color(i), 2.0f);
    if (i == highlighted) dl->AddRect(ImVec2(p.x - 2, p.y + dy - 2), ImVec2(p.x + sw + 2, p.y + dy + sw + 2), ImGui::GetColorU32(ImGuiCol_Text), 2.0f, 0, 2.0f);
    // The swatch and its label are one button: a click highlights that expert everywhere.
    ImGui::PushID(i);
    if (ImGui::InvisibleButton("##swatch", ImVec2(sw + 4 + ImGui::CalcTextSize(buf).x, ImGui::GetTextLineHeight()))) clicked = i;
    ImGui::PopID();
    ImGui::SetCursorScreenPos(ImVec2(p.x + sw + 4, p.y));
    ImGui::TextUnformatted(buf);
    ImGui::SameLine(0, 0);
    ImGui::Dummy(ImVec2(12, 0));
    x += w;
  }
  if (n > shown) {
    ImGui::SameLine();
    ImGui::TextDisabled("... %d more", n - shown);
  }
  return clicked;
}

}  // namespace moescope::ui
