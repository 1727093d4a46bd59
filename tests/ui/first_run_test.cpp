// Focus: the first run on a fresh machine (issue #18). With an empty HOME and started from an
// unrelated folder, the app must find its bundled demo model and prompt sets (next to a build
// tree, and in an installed prefix made by `cmake --install`), and one mouse click on "Run the
// demo comparison" must record into the default session file (whose folder does not exist yet)
// and end on the compare view, code vs verse. Driven under Xvfb by the --script test hook, which
// clicks through ImGui's mouse input as a user would.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope::test {
namespace {

// `binary` run from `cwd` with HOME = `home` and no XDG overrides, under Xvfb.
std::string fresh_gui(const std::filesystem::path& cwd, const std::filesystem::path& home, const std::filesystem::path& binary,
                      const std::string& args) {
  return "cd " + cwd.string() + " && env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u MOESCOPE_ASSETS HOME=" + home.string() +
         " LIBGL_ALWAYS_SOFTWARE=1 xvfb-run -a -s '-screen 0 1600x1000x24' " + binary.string() + " gui " + args;
}

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return nlohmann::json();
  return nlohmann::json::parse(in, nullptr, false);
}

TEST(FirstRun, OneClickOnTheDemoRecordsTheDefaultSessionAndComparesCodeWithVerse) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("first-run");
  const auto home = dir / "home", cwd = dir / "elsewhere";
  std::filesystem::create_directories(home);
  std::filesystem::create_directories(cwd);
  // Then the Routing lab on the first demo run: the app recorded its router logits.
  std::ofstream(dir / "script.json") << R"([{"click": "Run the demo comparison"}, {"wait_view": "compare", "timeout_s": 1200},
                                          {"click": "view:lab"}, {"click": "view:compare"}])";
  const auto r = run_command(fresh_gui(cwd, home, moescope_binary(),
                                       "--size 1280x800 --script " + (dir / "script.json").string() + " --report " + (dir / "report.json").string()));
  const auto report = read_json(dir / "report.json");
  ASSERT_TRUE(report.is_object()) << r.output;
  EXPECT_TRUE(report["ok"].get<bool>()) << report.dump(2) << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto session = home / ".local" / "share" / "moescope" / "sessions.db";
  EXPECT_TRUE(std::filesystem::exists(session)) << "the default session file was not created";
  EXPECT_EQ(report["session"], session.string());
  EXPECT_EQ(report["view"], "compare");
  EXPECT_EQ(report["lab_layers"], 4) << "the Routing lab did not replay a demo run: " << report["lab_error"];
  EXPECT_EQ(report["compare_tags"], nlohmann::json::array({"code", "verse"}));
  int code = 0, verse = 0;
  for (const auto& run : report["runs"]) {
    if (run["status"] != "complete") continue;
    code += run["tag"] == "code";
    verse += run["tag"] == "verse";
  }
  EXPECT_GT(code, 1);
  EXPECT_GT(verse, 1);
}

TEST(FirstRun, AnInstalledPrefixFindsItsDemoFromAnyFolder) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("installed");
  const auto build_dir = moescope_binary().parent_path().parent_path();  // <build>/app/moescope
  const auto install = run_command("cmake --install " + build_dir.string() + " --prefix " + (dir / "prefix").string());
  ASSERT_EQ(install.exit_code, 0) << install.output;
  const auto binary = dir / "prefix" / "bin" / "moescope";
  ASSERT_TRUE(std::filesystem::exists(binary));
  ASSERT_TRUE(std::filesystem::exists(dir / "prefix" / "share" / "moescope" / "assets" / "prompts" / "code.jsonl"));
  const auto home = dir / "home", cwd = dir / "elsewhere";
  std::filesystem::create_directories(home);
  std::filesystem::create_directories(cwd);
  // The copied binary is outside the source tree: only the prefix's assets can be found.
  const auto r = run_command(fresh_gui(cwd, home, binary, "--synthetic 300x8x2 --size 1024x700 --tour " + (dir / "tour").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto tour = read_json(dir / "tour" / "tour.json");
  ASSERT_TRUE(tour.is_object()) << r.output;
  ASSERT_TRUE(tour["demo_model"].is_string()) << tour.dump(2);
  EXPECT_EQ(std::filesystem::path(tour["demo_model"].get<std::string>()).parent_path(),
            dir / "prefix" / "share" / "moescope" / "assets" / "models");
  EXPECT_TRUE(tour["session"].is_null()) << "a synthetic session has no file";
}

}  // namespace
}  // namespace moescope::test
