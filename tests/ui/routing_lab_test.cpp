// Focus: the what-if views driven as a person would under Xvfb (issues #19 and #17). A run of the
// bundled demo model recorded with --router-logits opens in the Routing lab; picking the Switch
// policy replays it (loads, drops, agreement per layer drawn beside the recorded routing), and
// Apply runs the model under it and selects the new run tagged replay:switch. The offload and
// placement views draw their curves and bars on the same run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/gui_script.h"
#include "tests/ui/png_checks.h"
#include "ui/colormap.h"

namespace moescope::test {
namespace routing_lab_test {

constexpr int kWidth = 1280, kHeight = 800;
const Region kContent{260, 60, kWidth - 10, kHeight - 40};

// Pixels within 12 of `colour` (ImGui's packed ABGR) in every channel: drawn marks of that colour.
int pixels_of(const Image& img, Region r, uint32_t colour) {
  const int cr = colour & 0xff, cg = (colour >> 8) & 0xff, cb = (colour >> 16) & 0xff;
  int n = 0;
  for (int y = r.y0; y < std::min(img.height, r.y1); ++y) {
    for (int x = r.x0; x < std::min(img.width, r.x1); ++x) {
      const uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x) * 3;
      n += std::abs(p[0] - cr) <= 12 && std::abs(p[1] - cg) <= 12 && std::abs(p[2] - cb) <= 12;
    }
  }
  return n;
}

TEST(RoutingLab, ReplaysARunUnderSwitchAndAppliesItAsANewRun) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("routing-lab");
  const auto db = dir / "lab.moescope";
  const auto model = source_dir() / "assets" / "models" / "demo-moe";
  const auto rec =
      run_command(moescope_binary().string() + " run --router-logits --max-new-tokens 4 --tag code --model " +
                  model.string() + " --prompt 'def add(a, b):' --db " + db.string());
  ASSERT_EQ(rec.exit_code, 0) << rec.output;
  const std::string shot = dir.string() + "/";
  const nlohmann::json script = nlohmann::json::array({
      {{"click", "view:lab"}},
      {{"click", "policy:switch"}},
      {{"click", "view:lab"}},  // waits for the replay to finish
      {{"screenshot", shot + "lab.png"}},
      {{"click", "Apply"}},
      {{"wait_run_tag", "replay:switch"}, {"timeout_s", 300}},
      {{"click", "view:offload"}},
      {{"click", "view:offload"}},  // waits for the sweep
      {{"screenshot", shot + "offload.png"}},
      {{"click", "view:placement"}},
      {{"screenshot", shot + "placement.png"}},
  });
  const PlayedScript played = play_gui_script(dir, "--session " + db.string(), script, kWidth, kHeight);
  const auto& r = played.command;
  ASSERT_TRUE(played.report.is_object()) << r.output;  // the window wrote its report
  const auto& report = played.report;
  ASSERT_TRUE(report["ok"].get<bool>()) << report.dump(2) << "\n" << r.output;
  int64_t applied = 0;
  for (const auto& run : report["runs"]) {
    if (run["tag"] == "replay:switch") applied = run["id"];
  }
  ASSERT_GT(applied, 1) << report["runs"].dump();
  EXPECT_EQ(report["run_id"], applied) << "the lab jumps to the run it made";

  // The lab draws the policy's bars (the first categorical colour) beside the recorded ones.
  EXPECT_GT(pixels_of(read_png(dir / "lab.png"), kContent, ui::categorical_color(0)), 200);
  // The offload view draws one curve per policy.
  const Image offload = read_png(dir / "offload.png");
  for (int k = 0; k < 3; ++k)
    EXPECT_GT(pixels_of(offload, kContent, ui::categorical_color(k * 3)), 40) << "curve " << k;
  EXPECT_GT(pixels_of(read_png(dir / "placement.png"), kContent, ui::categorical_color(2)), 200);
}

}  // namespace routing_lab_test
}  // namespace moescope::test
