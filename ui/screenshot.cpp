#include "ui/screenshot.h"

#include <GL/gl.h>
#include <stb/stb_image_write.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace moescope::ui {

void write_framebuffer_png(int width, int height, const std::filesystem::path& file) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * 3);  // (height, width, 3), bottom row first
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  // GL's origin is the bottom-left corner; PNG rows go top-down.
  const size_t stride = static_cast<size_t>(width) * 3;
  std::vector<uint8_t> row(stride);
  for (int y = 0; y < height / 2; ++y) {
    uint8_t* a = pixels.data() + static_cast<size_t>(y) * stride;
    uint8_t* b = pixels.data() + static_cast<size_t>(height - 1 - y) * stride;
    std::memcpy(row.data(), a, stride);
    std::memcpy(a, b, stride);
    std::memcpy(b, row.data(), stride);
  }
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (!stbi_write_png(file.c_str(), width, height, 3, pixels.data(), static_cast<int>(stride))) {
    throw ResourceError("cannot write screenshot " + file.string());
  }
}

}  // namespace moescope::ui
