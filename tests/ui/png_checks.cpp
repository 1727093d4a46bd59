#include "tests/ui/png_checks.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace moescope::test {

Image read_png(const std::filesystem::path& file) {
  Image img;
  int channels = 0;
  unsigned char* data = stbi_load(file.c_str(), &img.width, &img.height, &channels, 3);
  if (!data) return {};
  img.rgb.assign(data, data + static_cast<size_t>(img.width) * img.height * 3);
  stbi_image_free(data);
  return img;
}

int distinct_colors(const Image& image, Region r) {
  std::unordered_set<uint32_t> seen;
  for (int y = std::max(0, r.y0); y < std::min(image.height, r.y1); ++y) {
    for (int x = std::max(0, r.x0); x < std::min(image.width, r.x1); ++x) {
      const uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3;
      seen.insert(static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2]);
    }
  }
  return static_cast<int>(seen.size());
}

int contrast_edges(const Image& image, Region r) {
  auto lum = [&](int x, int y) {
    const uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3;
    return (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255.0;
  };
  int edges = 0;
  for (int y = std::max(0, r.y0); y < std::min(image.height, r.y1); ++y) {
    for (int x = std::max(0, r.x0); x + 1 < std::min(image.width, r.x1); ++x) {
      if (std::fabs(lum(x, y) - lum(x + 1, y)) > 0.35) ++edges;
    }
  }
  return edges;
}

int bright_pixels(const Image& image, Region r, int min_channel) {
  int n = 0;
  for (int y = std::max(0, r.y0); y < std::min(image.height, r.y1); ++y) {
    for (int x = std::max(0, r.x0); x < std::min(image.width, r.x1); ++x) {
      const uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3;
      n += p[0] >= min_channel && p[1] >= min_channel && p[2] >= min_channel;
    }
  }
  return n;
}

int differing_pixels(const Image& a, const Image& b, Region r) {
  if (a.width != b.width || a.height != b.height) return -1;
  int n = 0;
  for (int y = std::max(0, r.y0); y < std::min(a.height, r.y1); ++y) {
    for (int x = std::max(0, r.x0); x < std::min(a.width, r.x1); ++x) {
      const size_t i = (static_cast<size_t>(y) * a.width + x) * 3;
      bool differs = false;
      for (int c = 0; c < 3; ++c) differs |= std::abs(a.rgb[i + c] - b.rgb[i + c]) > 8;
      n += differs;
    }
  }
  return n;
}

}  // namespace moescope::test
