// Reading the tour's PNGs back (stb_image) and measuring what a screenshot shows: size, distinct
// colours in a region, high-contrast edges (text).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace moescope::test {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // (height, width, 3)
};
// Empty image (width 0) when the file cannot be read.
Image read_png(const std::filesystem::path& file);

struct Region {
  int x0, y0, x1, y1;  // pixels, [x0, x1) x [y0, y1)
};
int distinct_colors(const Image& image, Region region);
// Horizontally adjacent pixel pairs whose luminance differs by more than 0.35: glyph edges.
int contrast_edges(const Image& image, Region region);
// Pixels whose three channels are all at least `min_channel`: white marks.
int bright_pixels(const Image& image, Region region, int min_channel);
// Pixels that differ (any channel by more than 8) between two images of the same size.
int differing_pixels(const Image& a, const Image& b, Region region);

}  // namespace moescope::test
