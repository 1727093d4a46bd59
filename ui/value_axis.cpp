#include "ui/value_axis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace moescope::ui {

double round_tick_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double n = raw / mag;
  return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
}

ValueAxis round_value_axis(double largest, int target_ticks) {
  if (!(largest > 0) || !std::isfinite(largest)) return {};
  ValueAxis axis;
  axis.step = round_tick_step(largest / std::max(1, target_ticks));
  axis.top = std::ceil(largest / axis.step - 1e-9) * axis.step;
  return axis;
}

void draw_value_axis(ImDrawList* dl, const ValueAxis& axis, float x0, float x1, float y_top, float y_zero) {
  const float font = ImGui::GetFontSize();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_TextDisabled), grid = ImGui::GetColorU32(ImGuiCol_Border, 0.4f);
  char buf[32];
  const int ticks = static_cast<int>(std::lround(axis.top / axis.step));
  for (int i = 0; i <= ticks; ++i) {
    const double v = axis.step * i;
    const float y = y_zero - (y_zero - y_top) * static_cast<float>(v / axis.top);
    std::snprintf(buf, sizeof buf, "%.4g", v);
    dl->AddLine(ImVec2(x0, y), ImVec2(x1, y), grid);
    dl->AddText(ImVec2(x0 - ImGui::CalcTextSize(buf).x - 4, y - font * 0.5f), text, buf);
  }
}

}  // namespace moescope::ui
