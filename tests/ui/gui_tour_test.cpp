// Focus: the `moescope gui --session FILE --tour DIR` contract, end to end under Xvfb with Mesa's
// software OpenGL. A session is written through the sessions writer API from synthetic routing;
// the tour must exit 0 and leave one PNG per view of the requested size whose content is that
// view's: colourful heatmaps, token text, bars, tracks.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/png_checks.h"
#include "tests/ui/session_fixture.h"

namespace moescope::test {
namespace {

constexpr int kWidth = 1280, kHeight = 800;


std::string gui_command(const std::string& args) {
  return "xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" +
         scratch_dir("xdg").string() + " " + moescope_binary().string() + " gui " + args;
}

class GuiTour : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_xvfb()) return;
    dir_ = new std::filesystem::path(scratch_dir("gui-tour"));
    ui::SyntheticSpec spec;
    spec.n_tokens = 400;
    spec.n_experts = 16;
    spec.n_layers = 6;
    write_synthetic_session(*dir_ / "session.db", spec);
    result_ = new CommandResult(run_command(gui_command("--session " + (*dir_ / "session.db").string() + " --tour " +
                                                        (*dir_ / "tour").string() + " --size " + std::to_string(kWidth) +
                                                        "x" + std::to_string(kHeight))));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  void SetUp() override {
    if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  }
  static Image shot(const std::string& view) { return read_png(*dir_ / "tour" / (view + ".png")); }

  static std::filesystem::path* dir_;
  static CommandResult* result_;
};
std::filesystem::path* GuiTour::dir_ = nullptr;
CommandResult* GuiTour::result_ = nullptr;

// The content area: right of the sidebar, below the menu bar, above the status bar.
const Region kContent{260, 60, kWidth - 10, kHeight - 40};

TEST_F(GuiTour, ExitsZeroAndWritesOnePngPerViewAtTheWindowSize) {
  ASSERT_EQ(result_->exit_code, 0) << result_->output;
  for (const char* view : {"start", "run", "tokens", "heatmaps", "compare", "balance", "timeline", "lab", "offload", "placement"}) {
    const Image img = shot(view);
    ASSERT_EQ(img.width, kWidth) << view;
    ASSERT_EQ(img.height, kHeight) << view;
    EXPECT_GT(distinct_colors(img, {0, 0, kWidth, kHeight}), 30) << view << " looks blank";
  }
}

TEST_F(GuiTour, HeatmapsViewHasAColourfulHeatmapRegion) {
  const Image img = shot("heatmaps");
  // The load-share map (top right quadrant) alone holds many colour-map shades.
  EXPECT_GT(distinct_colors(img, {kWidth / 2 + 100, 100, kWidth - 100, kHeight / 2 - 40}), 40);
  // The top-1 map (bottom left) shows many expert colours.
  EXPECT_GT(distinct_colors(img, {320, kHeight / 2 + 80, kWidth / 2 - 40, kHeight - 100}), 12);
}

TEST_F(GuiTour, TokensViewShowsTokenTextOnColouredChips) {
  const Image img = shot("tokens");
  const Region text_area{260, 120, kWidth - 30, kHeight / 2};
  EXPECT_GT(contrast_edges(img, text_area), 2000) << "no text-like pixels in the token area";
  EXPECT_GT(distinct_colors(img, text_area), 16) << "tokens are not coloured by expert";
}

TEST_F(GuiTour, EveryDataViewDiffersFromTheEmptyStartPage) {
  const int start_colors = distinct_colors(shot("start"), kContent);
  // (Placement's two-colour bars have fewer shades than the start page's text; the routing lab
  // test checks them.)
  for (const char* view : {"tokens", "heatmaps", "compare", "balance", "timeline", "offload"}) {
    EXPECT_GT(distinct_colors(shot(view), kContent), start_colors) << view;
  }
}

TEST_F(GuiTour, WritesFrameTimesForEveryView) {
  std::ifstream in(*dir_ / "tour" / "frame_times.json");
  ASSERT_TRUE(in);
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j.size(), 10u);
  for (const auto& v : j) EXPECT_GT(v["first_frame_ms"].get<double>(), 0.0) << v["view"];
}

TEST(GuiErrors, AMissingSessionFileIsOneClearLineAndNonZeroExit) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed";
  const auto dir = scratch_dir("gui-missing");
  const auto r = run_command(gui_command("--session " + (dir / "nope.db").string() + " --tour " + (dir / "tour").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nope.db"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "tour" / "tokens.png"));
}

TEST(GuiErrors, AForeignFileIsRefusedWithItsName) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed";
  const auto dir = scratch_dir("gui-foreign");
  std::ofstream(dir / "notes.db") << "this is not a session\n";
  const auto r = run_command(gui_command("--session " + (dir / "notes.db").string() + " --tour " + (dir / "tour").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("notes.db"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace moescope::test
