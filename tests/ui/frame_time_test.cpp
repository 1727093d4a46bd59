// Focus: the frame-time budget. On a synthetic 10,000-token x 256-expert x 8-layer session, and on
// one shaped like DeepSeek-V3 (256 experts, top-8, 58 MoE layers, 10,000 tokens), every view is
// drawn with content and its frame-build CPU time (ImGui NewFrame to Render, this thread's CPU
// clock, after the first frame that builds caches and textures) is measured against the 4 ms
// target. docs/perf.md records the figures and the command; on a shared 2-core machine the
// timings are printed, not asserted.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "tests/support/test_paths.h"
#include "tests/ui/png_checks.h"

namespace moescope::test {
namespace {

// Frame times are benchmark figures (docs/perf.md), printed here, never asserted.
TEST(FrameTime, EveryViewIsTimedOnA10kBy256Session) {
  if (run_command("command -v xvfb-run").exit_code != 0) GTEST_SKIP() << "xvfb-run is not installed";
  const auto dir = scratch_dir("gui-frame-time");
  const auto r = run_command("xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" + (dir / "xdg").string() +
                             " " + moescope_binary().string() + " gui --synthetic 10000x256x8 --size 1600x1000 --bench-frames 20 --tour " +
                             (dir / "tour").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "tour" / "frame_times.json");
  ASSERT_TRUE(in);
  const auto times = nlohmann::json::parse(in);
  ASSERT_EQ(times.size(), 10u);
  for (const auto& v : times) {
    EXPECT_EQ(v["frames"].get<int>(), 20) << v["view"];
    EXPECT_GT(v["median_ms"].get<double>(), 0.0) << v["view"];
    std::printf("%s: median %.3f ms\n", v["view"].get<std::string>().c_str(), v["median_ms"].get<double>());
  }
}

// The tour's summary (tour.json) over a DeepSeek-V3-shaped session: every view listed with its
// screenshot, which shows content, and a median frame time.
TEST(FrameTime, TheTourOverADeepSeekV3ShapedSessionDrawsEveryViewWithContent) {
  if (run_command("command -v xvfb-run").exit_code != 0) GTEST_SKIP() << "xvfb-run is not installed";
  const auto dir = scratch_dir("gui-deepseek-v3");
  const auto r = run_command("xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" + (dir / "xdg").string() +
                             " " + moescope_binary().string() + " gui --synthetic 10000x256x58 --size 1600x1000 --tour " +
                             (dir / "tour").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "tour" / "tour.json");
  ASSERT_TRUE(in);
  const auto tour = nlohmann::json::parse(in);
  ASSERT_EQ(tour["views"].size(), 10u);
  EXPECT_TRUE(tour["session"].is_null());
  const Region content{260, 60, 1590, 960};
  const int start_colours = distinct_colors(read_png(dir / "tour" / "start.png"), content);
  for (const auto& v : tour["views"]) {
    const std::string name = v["name"].get<std::string>();
    const Image img = read_png(dir / "tour" / v["png"].get<std::string>());
    ASSERT_EQ(img.width, 1600) << name;
    EXPECT_GT(distinct_colors(img, content), 30) << name << " looks blank";
    // A synthetic session holds no router logits: the Routing lab says so instead of replaying.
    // Placement draws two-colour bar charts, fewer shades than the start page's text; the routing
    // lab test checks its bars.
    if (name != "start" && name != "run" && name != "lab" && name != "placement") {
      EXPECT_GT(distinct_colors(img, content), start_colours) << name;
    }
    EXPECT_GT(v["frame_ms"].get<double>(), 0.0) << name;
    std::printf("deepseek-v3 shape, %s: median %.3f ms\n", name.c_str(), v["frame_ms"].get<double>());
  }
}

}  // namespace
}  // namespace moescope::test
