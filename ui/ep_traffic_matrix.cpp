#include "ui/ep_traffic_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "ui/colormap.h"
#include "ui/heatmap_widget.h"
#include "ui/model_card.h"
#include "ui/script_player.h"

namespace moescope::ui {
namespace {

std::string traffic_duration(double us) {
  char buf[32];
  if (us >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f us", us);
  }
  return buf;
}

}  // namespace

int rank_label_stride(int n_ranks, float cell_px, float label_px) {
  if (n_ranks <= 1 || cell_px <= 0) return 1;
  for (int magnitude = 1;; magnitude *= 10) {
    for (int m : {1, 2, 5}) {
      const int stride = m * magnitude;
      if (stride * cell_px >= label_px || stride >= n_ranks) return stride;
    }
  }
}

void draw_ep_traffic_matrix(AppState& app, const RunData& run, ImVec2 size) {
  TimelineState& s = app.timeline;
  ImGui::TextUnformatted("EP traffic");
  if (run.traffic.empty()) {
    ImGui::TextDisabled("no all-to-all recorded (EP degree 1)");
    return;
  }
  if (s.traffic_step < 0)
    s.traffic_step = run.traffic.front().step, s.traffic_layer = run.traffic.front().layer;
  const auto it = std::find_if(run.traffic.begin(), run.traffic.end(), [&](const TrafficMatrix& m) {
    return m.step == s.traffic_step && m.layer == s.traffic_layer;
  });
  ImGui::SameLine();
  ImGui::TextDisabled("step %lld, layer %d: tokens sent, source rank (row) to destination rank (column)",
                      static_cast<long long>(s.traffic_step), s.traffic_layer);
  if (it == run.traffic.end()) {
    ImGui::TextDisabled("no exchange recorded for this step and layer");
    return;
  }
  const TrafficMatrix& m = *it;
  if (m.n_ranks <= 0 || m.tokens.size() != static_cast<size_t>(m.n_ranks) * static_cast<size_t>(m.n_ranks)) {
    ImGui::TextDisabled("this exchange's matrix does not have n_ranks x n_ranks entries");
    return;
  }
  int64_t max_v = 1, total = 0, total_bytes = 0;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    max_v = std::max(max_v, m.tokens[i]);
    total += m.tokens[i];
    if (i < m.bytes.size()) total_bytes += m.bytes[i];
  }
  ImGui::TextDisabled("%lld tokens, %s, modelled %s%s", static_cast<long long>(total),
                      format_bytes(static_cast<double>(total_bytes)).c_str(),
                      traffic_duration(m.modeled_us).c_str(),
                      m.measured_us > 0 ? (", measured " + traffic_duration(m.measured_us)).c_str() : "");

  // Room: rank labels left and above, the colour bar right.
  const int32_t n = m.n_ranks;
  const float font = ImGui::GetFontSize();
  char buf[24];
  std::snprintf(buf, sizeof buf, "R%d", n - 1);
  const float label_w = ImGui::CalcTextSize(buf).x + font * 0.6f, label_h = font * 1.3f;
  const float bar_w = font * 5.5f;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float cell =
      std::max(4.0f, std::min((std::min(size.x, avail.x) - label_w - bar_w - 10) / static_cast<float>(n),
                              (avail.y - label_h - font * 2.6f) / static_cast<float>(n)));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 top_left = ImGui::GetCursorScreenPos();
  const ImVec2 p(top_left.x + label_w, top_left.y + label_h);  // the matrix' corner
  const ImU32 axis_text = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  dl->AddText(ImVec2(top_left.x, top_left.y), axis_text, "src\\dst");
  const int stride_x = rank_label_stride(n, cell, label_w), stride_y = rank_label_stride(n, cell, font);
  for (int32_t r = 0; r < n; ++r) {
    std::snprintf(buf, sizeof buf, "R%d", r);
    const ImVec2 ts = ImGui::CalcTextSize(buf);
    if (r % stride_x == 0)
      dl->AddText(ImVec2(p.x + (r + 0.5f) * cell - ts.x * 0.5f, p.y - label_h + (label_h - ts.y) * 0.5f),
                  axis_text, buf);
    if (r % stride_y == 0)
      dl->AddText(ImVec2(p.x - ts.x - font * 0.3f, p.y + (r + 0.5f) * cell - ts.y * 0.5f), axis_text, buf);
  }
  const ColorLut& lut = colormap_lut(app.settings.colormap);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  int32_t hovered = -1;
  for (int32_t src = 0; src < n; ++src) {
    for (int32_t dst = 0; dst < n; ++dst) {
      const size_t idx = static_cast<size_t>(src) * n + dst;
      const int64_t v = m.tokens[idx];
      const ImU32 col = lut[static_cast<size_t>(std::clamp<int64_t>(255 * v / max_v, 0, 255))];
      const ImVec2 a(p.x + dst * cell, p.y + src * cell);
      dl->AddRectFilled(a, ImVec2(a.x + cell - 1, a.y + cell - 1), col);
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
      const ImVec2 ts = ImGui::CalcTextSize(buf);
      if (ts.x + 4 < cell && ts.y < cell) {
        dl->AddText(ImVec2(a.x + (cell - ts.x) * 0.5f, a.y + (cell - ts.y) * 0.5f),
                    luminance(col) > 0.5f ? IM_COL32(10, 10, 10, 255) : IM_COL32_WHITE, buf);
      }
      if (mouse.x >= a.x && mouse.x < a.x + cell && mouse.y >= a.y && mouse.y < a.y + cell)
        hovered = static_cast<int32_t>(idx);
    }
  }
  note_clickable_rect(app, "ep matrix", p.x, p.y, p.x + cell * n, p.y + cell * n);
  if (hovered >= 0 && ImGui::IsWindowHovered()) {
    const auto h = static_cast<size_t>(hovered);
    ImGui::SetTooltip("R%d -> R%d: %lld tokens, %s", hovered / n, hovered % n,
                      static_cast<long long>(m.tokens[h]),
                      format_bytes(h < m.bytes.size() ? static_cast<double>(m.bytes[h]) : 0.0).c_str());
  }
  // The colour bar beside the matrix, as tall as it.
  const ImVec2 bar_at(p.x + cell * n + font, top_left.y);
  ImGui::SetCursorScreenPos(bar_at);
  draw_colorbar(lut, 0.0f, static_cast<float>(max_v), "tokens",
                ImVec2(bar_w, label_h + cell * n + font * 2.4f));
  note_clickable_rect(app, "ep colour bar", bar_at.x, bar_at.y, bar_at.x + bar_w,
                      bar_at.y + label_h + cell * n + font * 2.4f);
  ImGui::SetCursorScreenPos(top_left);
  ImGui::Dummy(ImVec2(label_w + cell * n + font + bar_w, label_h + cell * n + font * 2.4f));
}

}  // namespace moescope::ui
