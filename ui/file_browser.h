// An in-app file browser (ImGui has none): a modal listing one folder, with a path field, a
// parent button and the recent entries. Picks a file, a folder, or a new file's path depending on
// the mode. The modal fits the window at every size, its buttons always in view.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moescope::ui {

struct FileBrowser {
  enum class Mode { open_session, open_model_dir, new_session, save_png };
  Mode mode = Mode::open_session;
  bool open_requested = false;
  std::filesystem::path dir;
  std::string path_field;
  std::string listing_error;
  std::string selected;  // entry name clicked once (Open takes it)
  std::string new_file_name = "session.db";  // the name a new file starts with
  struct Entry {
    std::string name;
    bool is_dir = false;
    bool is_model = false;  // a folder holding config.json
  };
  std::vector<Entry> entries;

  // `new_file_name`: for new_session and save_png, the file name proposed in the folder.
  void open(Mode mode, const std::filesystem::path& start_dir, const std::string& new_file_name = "session.db");
  void list(const std::filesystem::path& folder);
};

// Draws the modal when open; returns the chosen path once.
std::optional<std::string> draw_file_browser(FileBrowser& browser, const std::vector<std::string>& recent);

}  // namespace moescope::ui
