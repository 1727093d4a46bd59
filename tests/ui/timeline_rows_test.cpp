// Focus: the timeline's new rows and links, driven as a person would under Xvfb by the --script
// hook on a synthetic EP session (4 ranks): with an expert chosen on the router-score map, the
// tokens/s, expert-tokens and modelled all-to-all rows draw, the EP matrix has its rank labels
// and a colour bar, and a wheel zoom over the tracks selects the tokens of the steps in view (the
// selection every other view reads).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/gui_script.h"
#include "tests/ui/png_checks.h"
#include "ui/colormap.h"

namespace moescope::test {
namespace timeline_rows_test {

constexpr int kWidth = 1280, kHeight = 800;

PlayedScript play_script(const std::filesystem::path& dir, const std::string& args, const nlohmann::json& script) {
  return play_gui_script(dir, args, script, kWidth, kHeight);
}

Region region_of(const nlohmann::json& report, const std::string& label) {
  const auto& rect = report["clickable_rects"][label];
  if (!rect.is_array() || rect.size() != 4) return {0, 0, 0, 0};
  return {rect[0].get<int>(), rect[1].get<int>(), rect[2].get<int>(), rect[3].get<int>()};
}

// Pixels of `region` within 12 levels of the RGBA colour `rgba` (the plot's fill; anti-aliased
// text is rarely that colour).
int pixels_of_colour(const Image& image, Region region, uint32_t rgba) {
  const int want[3] = {static_cast<int>(rgba & 0xFF), static_cast<int>((rgba >> 8) & 0xFF),
                       static_cast<int>((rgba >> 16) & 0xFF)};
  int n = 0;
  for (int y = std::max(0, region.y0); y < std::min(image.height, region.y1); ++y) {
    for (int x = std::max(0, region.x0); x < std::min(image.width, region.x1); ++x) {
      const uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3;
      bool near = true;
      for (int c = 0; c < 3; ++c) near = near && std::abs(p[c] - want[c]) <= 12;
      n += near ? 1 : 0;
    }
  }
  return n;
}

// One session of the app (each start costs seconds under Xvfb): 400 tokens, step 0 the 48-token
// prompt and steps 1..352 one token each, 16 experts, 4 MoE layers, 4 EP ranks.
TEST(TimelineRows, CounterRowsModelledAllToAllALabelledEpMatrixAndAZoomThatSelectsTokens) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("timeline-rows");
  const nlohmann::json script = nlohmann::json::array({
      {{"click", "view:timeline"}},
      {{"screenshot", (dir / "before.png").string()}},
      {{"click", "view:heatmaps"}},
      {{"click", "heatmap##scores"}, {"at", {0.5, 0.53}}},  // row 8 of 16: expert 8
      {{"click", "view:timeline"}},
      {{"screenshot", (dir / "after.png").string()}},
      {{"scroll", "timeline tracks"}, {"at", {0.6, 0.3}}, {"wheel", 6}},
  });
  const auto r = play_script(dir, "--synthetic 400x16x4", script);
  ASSERT_TRUE(r.report.is_object()) << r.command.output;
  ASSERT_TRUE(r.report["ok"].get<bool>()) << r.report.dump(2) << "\n" << r.command.output;
  const auto& c = r.report["timeline_counters"];
  EXPECT_EQ(c["steps"], 353) << c.dump();
  EXPECT_GT(c["tokens_per_s_max"].get<double>(), 0.0) << c.dump();
  EXPECT_EQ(c["expert"], 8) << c.dump();
  // Expert 8's tokens summed over the steps: some, never more than the run's tokens.
  EXPECT_GT(c["expert_tokens"].get<double>(), 0.0) << c.dump();
  EXPECT_LE(c["expert_tokens"].get<double>(), 400.0) << c.dump();
  EXPECT_EQ(c["modelled_exchanges"], 353 * 4) << "one per step and MoE layer: " << c.dump();

  const Image before = read_png(dir / "before.png"), after = read_png(dir / "after.png");
  const Region rate = region_of(r.report, "timeline:tokens per second");
  const Region expert = region_of(r.report, "timeline:expert tokens");
  const Region a2a = region_of(r.report, "timeline:modelled all-to-all");
  for (const Region& row : {rate, expert, a2a})
    ASSERT_GT(row.x1 - row.x0, 100) << r.report["clickable_rects"].dump();
  EXPECT_GT(distinct_colors(after, rate), 2) << "no tokens/s plot";
  EXPECT_GT(distinct_colors(after, a2a), 2) << "no modelled all-to-all zones";
  // Expert 8's steps are bars in its own colour, absent before it was chosen.
  EXPECT_EQ(pixels_of_colour(before, expert, ui::categorical_color(8)), 0);
  EXPECT_GT(pixels_of_colour(after, expert, ui::categorical_color(8)), 100)
      << "choosing expert 8 drew nothing in its row";
  // The EP matrix: rank labels left of and above its cells, a colour bar beside it.
  const Region matrix = region_of(r.report, "ep matrix"), bar = region_of(r.report, "ep colour bar");
  ASSERT_GT(matrix.x1 - matrix.x0, 40) << r.report["clickable_rects"].dump();
  // Anti-aliased text on the plain panel background: many shades where labels are, one where not.
  EXPECT_GT(distinct_colors(after, {matrix.x0 - 30, matrix.y0, matrix.x0 - 2, matrix.y1}), 5)
      << "no source rank labels";
  EXPECT_GT(distinct_colors(after, {matrix.x0, matrix.y0 - 16, matrix.x1, matrix.y0 - 2}), 5)
      << "no destination rank labels";
  EXPECT_GT(distinct_colors(after, {bar.x0, bar.y0 + 24, bar.x0 + 12, bar.y1 - 30}), 20)
      << "no colour bar gradient";

  // The wheel zoom selected the tokens of the steps in view: six notches keep about a quarter of
  // the run, away from the prompt at its start.
  const auto& sel = r.report["selection"];
  const int begin = sel["token_begin"], end = sel["token_end"];
  EXPECT_GE(begin, 48) << "the prefill step is out of view: " << sel.dump();
  EXPECT_LE(end, 400) << sel.dump();
  EXPECT_LT(end - begin, 400 / 2) << sel.dump();
  EXPECT_GT(end - begin, 400 / 20) << sel.dump();
}

}  // namespace timeline_rows_test
}  // namespace moescope::test
