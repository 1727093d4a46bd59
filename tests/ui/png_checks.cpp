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

}  // namespace moescope::test
