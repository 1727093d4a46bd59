#include "ui/token_layout.h"

#include <algorithm>

namespace moescope::ui {

TokenLayout layout_tokens(const std::vector<std::string>& texts, float wrap_width, float line_height, float chip_pad,
                          const std::function<float(const std::string&)>& measure) {
  TokenLayout out;
  out.line_height = line_height;
  const size_t n = texts.size();
  out.x.resize(n);
  out.y.resize(n);
  out.w.resize(n);
  float x = 0, y = 0;
  if (n > 0) out.line_start.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    const float w = measure(texts[i]) + 2 * chip_pad;
    if (x > 0 && x + w > wrap_width) {
      x = 0;
      y += line_height;
      out.line_start.push_back(static_cast<int32_t>(i));
    }
    out.x[i] = x;
    out.y[i] = y;
    out.w[i] = w;
    x += w + 1.0f;
    if (texts[i].size() >= 2 && texts[i].compare(texts[i].size() - 2, 2, "\\n") == 0 && i + 1 < n) {
      x = 0;
      y += line_height;
      out.line_start.push_back(static_cast<int32_t>(i + 1));
    }
  }
  out.height = n > 0 ? y + line_height : 0;
  return out;
}

std::pair<int32_t, int32_t> visible_lines(const TokenLayout& layout, float y0, float y1) {
  if (layout.line_height <= 0) return {0, 0};
  const auto lines = static_cast<int32_t>(layout.line_start.size());
  const int32_t first = std::clamp(static_cast<int32_t>(y0 / layout.line_height), 0, lines);
  const int32_t last = std::clamp(static_cast<int32_t>(y1 / layout.line_height) + 1, first, lines);
  return {first, last};
}

}  // namespace moescope::ui
