#include "tests/ui/gui_script.h"

#include <fstream>

namespace moescope::test {

PlayedScript play_gui_script(const std::filesystem::path& dir, const std::string& args, const nlohmann::json& script,
                             int width, int height) {
  std::ofstream(dir / "script.json") << script.dump();
  const std::string cmd =
      "xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" +
      (dir / "xdg").string() + " " + moescope_binary().string() + " gui " + args + " --size " +
      std::to_string(width) + "x" + std::to_string(height) + " --script " + (dir / "script.json").string() +
      " --report " + (dir / "report.json").string();
  PlayedScript r{run_command(cmd), {}};
  std::ifstream in(dir / "report.json");
  if (in) r.report = nlohmann::json::parse(in, nullptr, false);
  return r;
}

}  // namespace moescope::test
