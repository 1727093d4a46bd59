#include "ui/style.h"

#include <imgui.h>

#include <array>
#include <filesystem>

namespace moescope::ui {
namespace {

constexpr const char* kUiFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
constexpr const char* kBoldFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
constexpr const char* kMonoFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
constexpr const char* kCjkFont = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
constexpr int kCjkSimplifiedChineseFace = 2;  // faces in the .ttc: JP, KR, SC, TC, HK

// Latin with extensions (Ġ of byte-level BPE), Greek, Cyrillic, punctuation, arrows, maths,
// control pictures (␣, the token views' space marker), box drawing and blocks (▁ of SentencePiece).
const ImWchar* western_ranges() {
  static const ImWchar ranges[] = {0x0020, 0x024F, 0x0370, 0x03FF, 0x0400, 0x04FF, 0x2000, 0x206F, 0x2190, 0x21FF,
                                   0x2200, 0x22FF, 0x2400, 0x243F, 0x2500, 0x25FF, 0};
  return ranges;
}

ImFont* add_font(const char* path, float size, const ImWchar* ranges, bool merge = false, int face = 0) {
  if (!std::filesystem::exists(path)) return nullptr;
  ImFontConfig config;
  config.MergeMode = merge;
  config.FontNo = face;
  config.OversampleH = merge ? 1 : 2;  // CJK: keep the atlas small
  config.OversampleV = 1;
  return ImGui::GetIO().Fonts->AddFontFromFileTTF(path, size, &config, ranges);
}

}  // namespace

Fonts load_fonts(float scale) {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  Fonts fonts;
  fonts.ui = add_font(kUiFont, 15.0f * scale, western_ranges());
  if (!fonts.ui) fonts.ui = io.Fonts->AddFontDefault();
  fonts.mono = add_font(kMonoFont, 15.0f * scale, western_ranges());
  if (fonts.mono) {
    // The common simplified-Chinese set (2,500 ideographs plus kana and CJK punctuation) covers
    // nearly all DeepSeek/Qwen tokens that are CJK, at a fraction of the full range's atlas size.
    add_font(kCjkFont, 16.0f * scale, io.Fonts->GetGlyphRangesChineseSimplifiedCommon(), true, kCjkSimplifiedChineseFace);
  } else {
    fonts.mono = fonts.ui;
  }
  fonts.heading = add_font(kBoldFont, 21.0f * scale, western_ranges());
  if (!fonts.heading) fonts.heading = fonts.ui;
  io.FontDefault = fonts.ui;
  io.Fonts->Build();
  return fonts;
}

void apply_theme(bool dark, float scale) {
  ImGuiStyle style;
  if (dark) {
    ImGui::StyleColorsDark(&style);
  } else {
    ImGui::StyleColorsLight(&style);
  }
  style.WindowRounding = 0.0f;
  style.ChildRounding = 4.0f;
  style.FrameRounding = 4.0f;
  style.GrabRounding = 4.0f;
  style.PopupRounding = 4.0f;
  style.TabRounding = 4.0f;
  style.ScrollbarRounding = 6.0f;
  style.WindowPadding = ImVec2(10, 10);
  style.FramePadding = ImVec2(8, 4);
  style.ItemSpacing = ImVec2(8, 6);
  style.WindowBorderSize = 0.0f;
  style.FrameBorderSize = dark ? 0.0f : 1.0f;
  ImVec4* c = style.Colors;
  // A teal accent instead of ImGui's default blue; quiet backgrounds so data colours stand out.
  const ImVec4 accent = dark ? ImVec4(0.20f, 0.62f, 0.66f, 1.0f) : ImVec4(0.10f, 0.50f, 0.55f, 1.0f);
  if (dark) {
    c[ImGuiCol_WindowBg] = ImVec4(0.105f, 0.11f, 0.125f, 1.0f);
    c[ImGuiCol_ChildBg] = ImVec4(0.13f, 0.135f, 0.155f, 1.0f);
    c[ImGuiCol_PopupBg] = ImVec4(0.14f, 0.145f, 0.165f, 0.98f);
    c[ImGuiCol_FrameBg] = ImVec4(0.19f, 0.20f, 0.23f, 1.0f);
    c[ImGuiCol_MenuBarBg] = ImVec4(0.085f, 0.09f, 0.10f, 1.0f);
    c[ImGuiCol_Border] = ImVec4(0.28f, 0.29f, 0.33f, 0.6f);
  } else {
    c[ImGuiCol_WindowBg] = ImVec4(0.96f, 0.96f, 0.97f, 1.0f);
    c[ImGuiCol_ChildBg] = ImVec4(1.0f, 1.0f, 1.0f, 1.0f);
    c[ImGuiCol_FrameBg] = ImVec4(0.92f, 0.93f, 0.95f, 1.0f);
  }
  c[ImGuiCol_Header] = ImVec4(accent.x, accent.y, accent.z, 0.45f);
  c[ImGuiCol_HeaderHovered] = ImVec4(accent.x, accent.y, accent.z, 0.65f);
  c[ImGuiCol_HeaderActive] = accent;
  c[ImGuiCol_Button] = ImVec4(accent.x, accent.y, accent.z, 0.55f);
  c[ImGuiCol_ButtonHovered] = ImVec4(accent.x, accent.y, accent.z, 0.80f);
  c[ImGuiCol_ButtonActive] = accent;
  c[ImGuiCol_SliderGrab] = accent;
  c[ImGuiCol_SliderGrabActive] = ImVec4(accent.x + 0.1f, accent.y + 0.1f, accent.z + 0.1f, 1.0f);
  c[ImGuiCol_CheckMark] = accent;
  c[ImGuiCol_PlotHistogram] = accent;
  c[ImGuiCol_Tab] = ImVec4(accent.x, accent.y, accent.z, 0.35f);
  c[ImGuiCol_TabHovered] = ImVec4(accent.x, accent.y, accent.z, 0.8f);
  c[ImGuiCol_TabActive] = accent;
  style.ScaleAllSizes(scale);
  ImGui::GetStyle() = style;
}

unsigned int phase_color(int phase_index) {
  // One hue per Phase enumerator, in its order: embed, attention, router, dispatch, experts,
  // shared_experts, combine, all_to_all, dense_mlp, lm_head.
  static constexpr std::array<ImU32, 10> colors = {
      IM_COL32(120, 120, 130, 255), IM_COL32(66, 133, 244, 255), IM_COL32(251, 188, 5, 255),
      IM_COL32(171, 71, 188, 255),  IM_COL32(52, 168, 83, 255),  IM_COL32(0, 172, 193, 255),
      IM_COL32(255, 112, 67, 255),  IM_COL32(234, 67, 53, 255),  IM_COL32(141, 110, 99, 255),
      IM_COL32(158, 157, 36, 255)};
  return colors[static_cast<size_t>(phase_index) % colors.size()];
}

}  // namespace moescope::ui
