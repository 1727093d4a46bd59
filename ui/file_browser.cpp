#include "ui/file_browser.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace moescope::ui {
namespace {

constexpr const char* kPopup = "Open##file_browser";

bool is_session_file(const std::string& name) {
  for (const char* ext : {".db", ".sqlite", ".moescope", ".sqlite3"}) {
    const size_t n = std::strlen(ext);
    if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) return true;
  }
  return false;
}

}  // namespace

void FileBrowser::open(Mode m, const std::filesystem::path& start_dir, const std::string& file_name) {
  mode = m;
  new_file_name = file_name;
  open_requested = true;
  selected.clear();
  std::error_code ec;
  list(start_dir.empty() ? std::filesystem::current_path(ec) : start_dir);
  if (mode == Mode::new_session || mode == Mode::save_png) path_field = (dir / new_file_name).string();
}

void FileBrowser::list(const std::filesystem::path& folder) {
  std::error_code ec;
  std::vector<Entry> found;
  std::filesystem::directory_iterator it(folder, std::filesystem::directory_options::skip_permission_denied, ec);
  if (ec) {
    listing_error = "cannot list " + folder.string() + ": " + ec.message();
    return;
  }
  for (const auto& e : it) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    const bool is_dir = e.is_directory(ec);
    if (!is_dir && mode == Mode::open_model_dir) continue;
    if (!is_dir && !is_session_file(name)) continue;
    found.push_back({name, is_dir, is_dir && std::filesystem::exists(e.path() / "config.json", ec)});
  }
  std::sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) {
    return a.is_dir != b.is_dir ? a.is_dir : a.name < b.name;
  });
  listing_error.clear();
  entries = std::move(found);
  dir = std::filesystem::absolute(folder, ec).lexically_normal();
  path_field = dir.string();
}

std::optional<std::string> draw_file_browser(FileBrowser& b, const std::vector<std::string>& recent) {
  if (b.open_requested) {
    ImGui::OpenPopup(kPopup);
    b.open_requested = false;
  }
  // At most the window's size, so a small window still shows the whole modal with its buttons.
  const ImVec2 viewport = ImGui::GetMainViewport()->WorkSize;
  const ImVec2 size(std::min(ImGui::GetFontSize() * 44, viewport.x * 0.95f), std::min(ImGui::GetFontSize() * 30, viewport.y * 0.95f));
  ImGui::SetNextWindowSize(size, ImGuiCond_Always);
  ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetWorkCenter(), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
  std::optional<std::string> chosen;
  if (!ImGui::BeginPopupModal(kPopup, nullptr, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoResize)) return chosen;
  const bool new_file = b.mode == FileBrowser::Mode::new_session || b.mode == FileBrowser::Mode::save_png;
  ImGui::TextUnformatted(b.mode == FileBrowser::Mode::open_session ? "Open a session file (.db)"
                         : b.mode == FileBrowser::Mode::save_png    ? "Save this view as PNG at 2x: pick a folder, name the file"
                         : new_file                                 ? "New session file (.db): pick a folder, name the file"
                                                                    : "Open a checkpoint folder (with config.json)");
  if (ImGui::Button("Up")) b.list(b.dir.parent_path());
  ImGui::SameLine();
  char buf[1024];
  std::snprintf(buf, sizeof buf, "%s", b.path_field.c_str());
  ImGui::SetNextItemWidth(-1);
  if (ImGui::InputText("##path", buf, sizeof buf, ImGuiInputTextFlags_EnterReturnsTrue)) {
    std::error_code ec;
    if (std::filesystem::is_directory(buf, ec) && b.mode != FileBrowser::Mode::open_model_dir) {
      b.list(buf);
    } else {
      chosen = std::string(buf);
    }
  } else {
    b.path_field = buf;
  }
  if (!b.listing_error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", b.listing_error.c_str());
  // The lists take what is left after one row of buttons, never less than a line.
  const float list_h = std::max(ImGui::GetFrameHeight(), ImGui::GetContentRegionAvail().y - ImGui::GetFrameHeightWithSpacing() * 1.3f);
  ImGui::BeginChild("##entries", ImVec2(ImGui::GetContentRegionAvail().x * 0.62f, list_h), true);
  for (const auto& e : b.entries) {
    std::string label = (e.is_dir ? (e.is_model ? "[model] " : "[dir] ") : "") + e.name;
    if (ImGui::Selectable(label.c_str(), b.selected == e.name, ImGuiSelectableFlags_AllowDoubleClick)) {
      b.selected = e.name;
      if (new_file && !e.is_dir) b.path_field = (b.dir / e.name).string();
      if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
        if (e.is_dir && !(b.mode == FileBrowser::Mode::open_model_dir && e.is_model)) {
          b.list(b.dir / e.name);
          if (new_file) b.path_field = (b.dir / b.new_file_name).string();
          b.selected.clear();
          break;
        }
        chosen = (b.dir / e.name).string();
      }
    }
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##recent", ImVec2(0, list_h), true);
  ImGui::TextDisabled("Recent");
  for (const auto& r : recent) {
    if (ImGui::Selectable(r.c_str())) chosen = r;
  }
  ImGui::EndChild();
  if (b.mode == FileBrowser::Mode::open_model_dir) {
    if (ImGui::Button("Open this folder")) chosen = b.selected.empty() ? b.dir.string() : (b.dir / b.selected).string();
  } else if (new_file) {
    if (ImGui::Button(b.mode == FileBrowser::Mode::save_png ? "Save" : "Create")) chosen = b.path_field;
  } else if (ImGui::Button("Open")) {
    if (!b.selected.empty()) {
      std::error_code ec;
      if (std::filesystem::is_directory(b.dir / b.selected, ec)) {
        b.list(b.dir / b.selected);
        b.selected.clear();
      } else {
        chosen = (b.dir / b.selected).string();
      }
    } else if (std::error_code ec; !std::filesystem::is_directory(b.path_field, ec)) {
      chosen = b.path_field;
    }
  }
  ImGui::SameLine();
  if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) ImGui::CloseCurrentPopup();
  if (chosen) ImGui::CloseCurrentPopup();
  ImGui::EndPopup();
  return chosen;
}

}  // namespace moescope::ui
