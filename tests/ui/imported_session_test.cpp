// Focus: a session imported from another engine's capture (issue #21) opens in the GUI, and every
// view either draws or says which field the capture lacked. The SGLang fixture (top-k ids per
// token and layer, no scores, router logits or timings) is imported with `moescope import` and
// toured: each view's PNG has content, and tour.json lists what each view found missing.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/png_checks.h"

namespace moescope::test {
namespace imported_session_test {

TEST(ImportedSession, EveryViewDrawsOrNamesTheFieldTheCaptureLacks) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("imported-gui");
  const auto db = dir / "imported.moescope";
  const auto imp = run_command(moescope_binary().string() + " import --from sglang " +
                               (source_dir() / "tests/fixtures/import/sglang_mixtral.jsonl").string() +
                               " --model-config " + (golden_model("mixtral-tiny") / "config.json").string() +
                               " --tag chat --db " + db.string() + " 2>&1");
  ASSERT_EQ(imp.exit_code, 0) << imp.output;
  const auto r =
      run_command("xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" +
                  (dir / "xdg").string() + " " + moescope_binary().string() + " gui --session " +
                  db.string() + " --size 960x600 --tour " + (dir / "tour").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "tour" / "tour.json");
  ASSERT_TRUE(in) << r.output;
  const auto tour = nlohmann::json::parse(in);
  std::map<std::string, std::vector<std::string>> lacks;
  for (const auto& v : tour["views"]) {
    const std::string name = v["name"];
    lacks[name] = v["lacks"].get<std::vector<std::string>>();
    const Image img = read_png(dir / "tour" / v["png"].get<std::string>());
    ASSERT_EQ(img.width, 960) << name;
    EXPECT_GT(distinct_colors(img, {260, 60, 950, 560}), 8) << name << " is blank";
  }
  // SGLang's return_routed_experts carries expert ids only.
  EXPECT_EQ(lacks["timeline"], std::vector<std::string>{"timings"});
  EXPECT_EQ(lacks["lab"], std::vector<std::string>{"router_logits"});
  EXPECT_EQ(lacks["heatmaps"], std::vector<std::string>{"scores"});
  // Views built from the expert ids draw without missing anything.
  for (const char* view : {"compare", "balance", "offload", "placement"})
    EXPECT_TRUE(lacks[view].empty()) << view;
}

}  // namespace imported_session_test
}  // namespace moescope::test
