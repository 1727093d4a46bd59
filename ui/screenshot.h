// PNGs of what the window shows: glReadPixels of the back buffer after the frame is drawn.
#pragma once

#include <filesystem>

namespace moescope::ui {

// Reads the current framebuffer (width x height) and writes it as an RGB PNG. Throws
// ResourceError when the file cannot be written.
void write_framebuffer_png(int width, int height, const std::filesystem::path& file);

}  // namespace moescope::ui
