// Word-wrapped placement of token chips for the token view, computed once per (run revision,
// width, font) and then drawn by binary search over lines, so 10k tokens cost only what is visible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moescope::ui {

struct TokenLayout {
  uint64_t key = 0;
  std::vector<float> x, y, w;        // (n_tokens) chip position and width, relative to the origin
  std::vector<int32_t> line_start;   // first token of each line
  float line_height = 0;
  float height = 0;
};

// `measure(text)` gives a chip's text width. A token whose text is "\n" (escaped newline, as
// Tokenizer::display_text writes it) ends its line.
TokenLayout layout_tokens(const std::vector<std::string>& texts, float wrap_width, float line_height, float chip_pad,
                          const std::function<float(const std::string&)>& measure);

// Lines [first, last) that intersect [y0, y1).
std::pair<int32_t, int32_t> visible_lines(const TokenLayout& layout, float y0, float y1);

}  // namespace moescope::ui
