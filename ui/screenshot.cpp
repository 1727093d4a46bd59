#include "ui/screenshot.h"

#include <GL/gl.h>
#include <GL/glext.h>
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <stb/stb_image_write.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace moescope::ui {

void write_framebuffer_png(int width, int height, const std::filesystem::path& file, bool from_back_buffer) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * 3);  // (height, width, 3), bottom row first
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(from_back_buffer ? GL_BACK : GL_COLOR_ATTACHMENT0);
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

void write_scaled_png(int scale, const std::filesystem::path& file) {
  ImDrawData* draw = ImGui::GetDrawData();
  if (!draw || scale < 1) return;
  // Framebuffer objects are GL 3.0: reached through GLFW's loader, as the ImGui backend does.
  const auto gen = reinterpret_cast<PFNGLGENFRAMEBUFFERSPROC>(glfwGetProcAddress("glGenFramebuffers"));
  const auto bind = reinterpret_cast<PFNGLBINDFRAMEBUFFERPROC>(glfwGetProcAddress("glBindFramebuffer"));
  const auto attach = reinterpret_cast<PFNGLFRAMEBUFFERTEXTURE2DPROC>(glfwGetProcAddress("glFramebufferTexture2D"));
  const auto status = reinterpret_cast<PFNGLCHECKFRAMEBUFFERSTATUSPROC>(glfwGetProcAddress("glCheckFramebufferStatus"));
  const auto remove = reinterpret_cast<PFNGLDELETEFRAMEBUFFERSPROC>(glfwGetProcAddress("glDeleteFramebuffers"));
  if (!gen || !bind || !attach || !status || !remove) throw ResourceError("this OpenGL has no framebuffer objects: cannot export at " + std::to_string(scale) + "x");
  const int width = static_cast<int>(draw->DisplaySize.x) * scale, height = static_cast<int>(draw->DisplaySize.y) * scale;
  GLuint texture = 0, fbo = 0;
  glGenTextures(1, &texture);
  glBindTexture(GL_TEXTURE_2D, texture);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
  gen(1, &fbo);
  bind(GL_FRAMEBUFFER, fbo);
  attach(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0);
  std::string error;
  if (status(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
    error = "cannot make a " + std::to_string(width) + "x" + std::to_string(height) + " offscreen framebuffer for the export";
  } else {
    glViewport(0, 0, width, height);
    const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    glClearColor(bg.x, bg.y, bg.z, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    const ImVec2 saved = draw->FramebufferScale;
    draw->FramebufferScale = ImVec2(saved.x * static_cast<float>(scale), saved.y * static_cast<float>(scale));
    ImGui_ImplOpenGL3_RenderDrawData(draw);
    draw->FramebufferScale = saved;
    try {
      write_framebuffer_png(width, height, file, false);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  bind(GL_FRAMEBUFFER, 0);
  remove(1, &fbo);
  glDeleteTextures(1, &texture);
  if (!error.empty()) throw ResourceError(error);
}

}  // namespace moescope::ui
