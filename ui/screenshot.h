// PNGs of what the window shows: glReadPixels of the back buffer after the frame is drawn.
#pragma once

#include <filesystem>

namespace moescope::ui {

// Reads the current framebuffer (width x height) and writes it as an RGB PNG: the window's back
// buffer, or (from_back_buffer false) the bound framebuffer object's colour attachment. Throws
// ResourceError when the file cannot be written.
void write_framebuffer_png(int width, int height, const std::filesystem::path& file, bool from_back_buffer = true);

// The frame ImGui just built, drawn again at `scale` times the window's pixels into an offscreen
// framebuffer and written as PNG (File > Export > PNG at 2x: figures for a paper). Call after
// ImGui::Render. ResourceError when the GL has no framebuffer objects or the file cannot be written.
void write_scaled_png(int scale, const std::filesystem::path& file);

}  // namespace moescope::ui
