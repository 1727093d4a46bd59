#include "ui/colormap.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace moescope::ui {
namespace {

// Degree-6 polynomial fits of matplotlib's viridis and magma (Matt Zucker's fits: within 0.025
// of matplotlib's tables per channel, largest at the ends), evaluated per channel:
// c0 + t*(c1 + t*(c2 + ...)).
using Poly = std::array<std::array<float, 3>, 7>;
constexpr Poly kViridis = {{
    {0.2777273272234177f, 0.005407344544966578f, 0.3340998053353061f},
    {0.1050930431085774f, 1.404613529898575f, 1.384590162594685f},
    {-0.3308618287255563f, 0.214847559468213f, 0.09509516302823659f},
    {-4.634230498983486f, -5.799100973351585f, -19.33244095627987f},
    {6.228269936347081f, 14.17993336680509f, 56.69055260068105f},
    {4.776384997670288f, -13.74514537774601f, -65.35303263337234f},
    {-5.435455855934631f, 4.645852612178535f, 26.3124352495832f},
}};
constexpr Poly kMagma = {{
    {-0.002136485053939582f, -0.000749655052795221f, -0.005386127855323933f},
    {0.2516605407371642f, 0.6775232436837668f, 2.494026599312351f},
    {8.353717279216625f, -3.577719514958484f, 0.3144679030132573f},
    {-27.66873308576866f, 14.26473078096533f, -13.64921318813922f},
    {52.17613981234068f, -27.94360607168351f, 12.94416944238394f},
    {-50.76852536473588f, 29.04658282127291f, 4.23415299384598f},
    {18.65570506591883f, -11.48977351997711f, -5.601961508734096f},
}};

float eval(const Poly& p, int channel, float t) {
  float v = p[6][channel];
  for (int i = 5; i >= 0; --i) v = p[i][channel] + t * v;
  return std::clamp(v, 0.0f, 1.0f);
}

ColorLut build_lut(Colormap map) {
  ColorLut lut{};
  for (int i = 0; i < 256; ++i) lut[i] = pack_rgba(sample_colormap(map, static_cast<float>(i) / 255.0f));
  return lut;
}

Rgb hsv_to_rgb(float h, float s, float v) {
  h = h - std::floor(h);
  const float f = h * 6.0f;
  const int sector = static_cast<int>(f) % 6;
  const float frac = f - std::floor(f);
  const float p = v * (1 - s), q = v * (1 - s * frac), t = v * (1 - s * (1 - frac));
  switch (sector) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

// Tableau 20's colours, reordered so the first ten are the strong ones: small models (8-16
// experts) get clearly separated colours. Its two greys are replaced by tab20b's indigo and
// periwinkle: grey means "no expert" / "not chosen" in the views, so no expert may be grey.
constexpr std::array<uint32_t, 20> kPalette = {
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x393b79, 0xbcbd22, 0x17becf,
    0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94, 0xf7b6d2, 0x6b6ecf, 0xdbdb8d, 0x9edae5,
};

}  // namespace

std::string_view colormap_name(Colormap map) {
  switch (map) {
    case Colormap::viridis: return "viridis";
    case Colormap::magma: return "magma";
  }
  return "viridis";
}

Rgb sample_colormap(Colormap map, float t) {
  t = std::isnan(t) ? 0.0f : std::clamp(t, 0.0f, 1.0f);
  const Poly& p = map == Colormap::magma ? kMagma : kViridis;
  return {eval(p, 0, t), eval(p, 1, t), eval(p, 2, t)};
}

const ColorLut& colormap_lut(Colormap map) {
  static const ColorLut viridis = build_lut(Colormap::viridis);
  static const ColorLut magma = build_lut(Colormap::magma);
  return map == Colormap::magma ? magma : viridis;
}

const ColorLut& diverging_lut() {
  static const ColorLut lut = [] {
    // RdBu reversed: negative blue, positive red.
    constexpr std::array<Rgb, 5> stops = {{{0.129f, 0.400f, 0.675f}, {0.573f, 0.773f, 0.871f}, {0.93f, 0.93f, 0.93f},
                                            {0.957f, 0.647f, 0.510f}, {0.698f, 0.094f, 0.169f}}};
    ColorLut out{};
    for (int i = 0; i < 256; ++i) {
      const float f = static_cast<float>(i) / 255.0f * 4.0f;
      const int s = std::min(3, static_cast<int>(f));
      const float u = f - static_cast<float>(s);
      const Rgb& a = stops[static_cast<size_t>(s)];
      const Rgb& b = stops[static_cast<size_t>(s) + 1];
      out[static_cast<size_t>(i)] = pack_rgba({a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u});
    }
    return out;
  }();
  return lut;
}

uint32_t categorical_color(int32_t index) {
  if (index < 0) return kNoExpertColor;
  if (index < static_cast<int32_t>(kPalette.size())) {
    const uint32_t rgb = kPalette[static_cast<size_t>(index)];
    return ((rgb >> 16) & 0xff) | (rgb & 0xff00) | ((rgb & 0xff) << 16) | 0xff000000u;
  }
  // Golden-angle hues with three alternating saturation/value bands.
  const float hue = static_cast<float>(index) * 0.618033988749895f;
  const int band = index % 3;
  const float s = band == 0 ? 0.65f : band == 1 ? 0.45f : 0.80f;
  const float v = band == 0 ? 0.90f : band == 1 ? 0.80f : 0.65f;
  return pack_rgba(hsv_to_rgb(hue, s, v));
}

ExpertPalette top_expert_palette(const int64_t* counts, int32_t n_experts, int32_t n_top) {
  ExpertPalette out;
  n_top = std::clamp(n_top, 0, std::max(0, n_experts));
  std::vector<int32_t> order(static_cast<size_t>(std::max(0, n_experts)));
  for (int32_t e = 0; e < n_experts; ++e) order[static_cast<size_t>(e)] = e;
  // Most used first; ties by id so the colours do not depend on the sort's whims.
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return counts[a] > counts[b]; });
  out.top.assign(order.begin(), order.begin() + n_top);
  out.color.assign(static_cast<size_t>(std::max(0, n_experts)), kOtherExpertColor);
  for (int32_t rank = 0; rank < n_top; ++rank) out.color[static_cast<size_t>(out.top[static_cast<size_t>(rank)])] = categorical_color(rank);
  return out;
}

float luminance(uint32_t rgba) {
  const Rgb c = unpack_rgb(rgba);
  return 0.2126f * c.r + 0.7152f * c.g + 0.0722f * c.b;
}

}  // namespace moescope::ui
