// Colour maps for heatmaps and token colouring: perceptually uniform sequential maps (viridis,
// magma) for values, and a categorical palette for expert ids. Pure functions, no ImGui, so the
// data side can colour pixels off the UI thread and tests can check the maps.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace moescope::ui {

enum class Colormap : uint8_t { viridis, magma };
inline constexpr int kColormapCount = 2;
std::string_view colormap_name(Colormap map);

struct Rgb {
  float r = 0, g = 0, b = 0;  // each in [0, 1]
};

// t is clamped to [0, 1].
Rgb sample_colormap(Colormap map, float t);

// The map sampled at 256 points as packed 0xAABBGGRR (ImGui's IM_COL32 layout, also RGBA8 in
// memory on little-endian), for colouring millions of heatmap cells by table lookup.
using ColorLut = std::array<uint32_t, 256>;
const ColorLut& colormap_lut(Colormap map);

// A diverging map (blue - light grey - red, after ColorBrewer's RdBu) for signed differences;
// index 128 is zero.
const ColorLut& diverging_lut();

// Greys are reserved, never an expert's colour: "no expert" (a token not routed, an expert not
// chosen) is a light grey, "other" (an expert outside a palette's top N) a dark slate.
inline constexpr uint32_t kNoExpertColor = 0xff808080u;
inline constexpr uint32_t kOtherExpertColor = 0xff4a4440u;

// A distinct colour for category `index` (an expert id): 20 hand-picked hues first, then hues
// spread by the golden angle so that 256 experts still differ from their neighbours. Negative
// index: kNoExpertColor.
uint32_t categorical_color(int32_t index);

// Past ~20 experts distinct hues stop being told apart, so at scale the N most used experts get
// the strong colours (most used first) and every other expert one shared "other".
struct ExpertPalette {
  std::vector<int32_t> top;     // (n_top) expert ids, most used first
  std::vector<uint32_t> color;  // (n_experts) categorical_color(rank) for the top, kOtherExpertColor else
  uint32_t of(int32_t expert) const {
    return expert >= 0 && expert < static_cast<int32_t>(color.size()) ? color[static_cast<size_t>(expert)] : kNoExpertColor;
  }
};
// `counts`: (n_experts) how often each expert was chosen; ties go to the lower id.
ExpertPalette top_expert_palette(const int64_t* counts, int32_t n_experts, int32_t n_top);

inline uint32_t pack_rgba(Rgb c, float alpha = 1.0f) {
  auto to8 = [](float v) { return static_cast<uint32_t>(v <= 0 ? 0 : v >= 1 ? 255 : v * 255.0f + 0.5f); };
  return to8(c.r) | (to8(c.g) << 8) | (to8(c.b) << 16) | (to8(alpha) << 24);
}
inline Rgb unpack_rgb(uint32_t rgba) {
  return {static_cast<float>(rgba & 0xff) / 255.0f, static_cast<float>((rgba >> 8) & 0xff) / 255.0f,
          static_cast<float>((rgba >> 16) & 0xff) / 255.0f};
}
// Relative luminance (sRGB weights), to pick black or white text over a coloured cell.
float luminance(uint32_t rgba);

}  // namespace moescope::ui
