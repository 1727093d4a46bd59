// Focus: linked selection and the keyboard (issue #18), driven as a person would under Xvfb by
// the --script hook. On a synthetic session: zooming the router-score map sets the token range
// that the token view and the timeline then show; clicking a cell pins its token and highlights
// its expert (white marks on the maps); the arrows move the pinned token and the layer; Ctrl+digit
// switches views; the run filter narrows the run list.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/gui_script.h"
#include "tests/ui/png_checks.h"

namespace moescope::test {
namespace linked_selection_test {

constexpr int kWidth = 1280, kHeight = 800;

PlayedScript play(const std::filesystem::path& dir, const std::string& args, const nlohmann::json& script) {
  return play_gui_script(dir, args, script, kWidth, kHeight);
}

// The router-score map is the top-left panel of the heatmaps view.
const Region kScoresPanel{270, 110, kWidth / 2 - 60, kHeight / 2 - 20};

TEST(LinkedSelection, AZoomIsTheRangeEverywhereAndAClickPinsATokenAndAnExpert) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("linked-selection");
  const std::string shot = dir.string() + "/";
  // 400 tokens, 16 experts, 6 layers: the score map's rows are experts 0..15 (ordered by id).
  const nlohmann::json script = nlohmann::json::array({
      {{"click", "view:tokens"}},
      {{"screenshot", shot + "tokens-before.png"}},
      {{"key", "Ctrl+4"}},  // the fourth view: Heatmaps
      {{"wait_view", "heatmaps"}},
      {{"screenshot", shot + "before.png"}},
      {{"scroll", "heatmap##scores"}, {"at", {0.25, 0.53}}, {"wheel", 4}},
      {{"click", "heatmap##scores"}, {"at", {0.5, 0.53}}},
      {{"key", "Right"}},
      {{"key", "Down"}},
      {{"screenshot", shot + "heatmaps.png"}},
      {{"click", "view:tokens"}},
      {{"screenshot", shot + "tokens.png"}},
      {{"click", "view:timeline"}},
      {{"screenshot", shot + "timeline.png"}},
  });
  const auto r = play(dir, "--synthetic 400x16x6", script);
  ASSERT_TRUE(r.report.is_object()) << r.command.output;
  ASSERT_TRUE(r.report["ok"].get<bool>()) << r.report.dump(2) << "\n" << r.command.output;
  const auto& sel = r.report["selection"];
  const int begin = sel["token_begin"], end = sel["token_end"], pinned = sel["pinned_token"];
  // Four notches of zoom around token 100 of 400: a range inside the run around it.
  EXPECT_GT(begin, 0) << sel.dump();
  EXPECT_LT(begin, 100) << sel.dump();
  EXPECT_GT(end, 100) << sel.dump();
  EXPECT_LT(end - begin, 400 * 6 / 10) << sel.dump();
  // The click at the middle of the zoomed map pinned the middle token; Right moved it one on.
  EXPECT_NEAR(pinned, (begin + end) / 2 + 1, 2) << sel.dump();
  EXPECT_EQ(sel["expert"], 8) << "row 8 of 16, at 53% of the map's height";
  EXPECT_EQ(r.report["layer"], 1) << "Down moved from layer 0 to layer 1";
  // The timeline measures the steps of the selected tokens.
  const auto& measure = r.report["timeline_measure_us"];
  EXPECT_GE(measure[0].get<double>(), 0.0) << measure.dump();
  EXPECT_GT(measure[1].get<double>(), measure[0].get<double>()) << measure.dump();

  const Image before = read_png(dir / "before.png"), after = read_png(dir / "heatmaps.png");
  ASSERT_EQ(after.width, kWidth);
  // The marks are near-white lines around the expert's row and the token's column; the map's
  // colours never have every channel that bright.
  EXPECT_GT(bright_pixels(after, kScoresPanel, 200), bright_pixels(before, kScoresPanel, 200) + 500)
      << "no white marks for the pinned token and the highlighted expert";
  // Tokens scrolled to the range, faded the tokens not routed to expert 8, pinned one: most of
  // the text area changed.
  const Region text_area{270, 120, kWidth - 30, kHeight / 2};
  const int changed =
      differing_pixels(read_png(dir / "tokens-before.png"), read_png(dir / "tokens.png"), text_area);
  EXPECT_GT(changed, (text_area.x1 - text_area.x0) * (text_area.y1 - text_area.y0) / 5)
      << "the token view ignored the selection";
}

TEST(LinkedSelection, TheRunFilterNarrowsTheRunList) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("run-filter");
  // The synthetic runs are tagged code, poetry, math, prose: typing "poe" after Ctrl+F leaves run 2
  // alone in the list, and a click on it selects it.
  const nlohmann::json script = nlohmann::json::array({
      {{"key", "Ctrl+F"}},
      {{"type", "poe"}},
      {{"click", "run:2"}},
  });
  const auto r = play(dir, "--synthetic 200x8x2", script);
  ASSERT_TRUE(r.report.is_object()) << r.command.output;
  ASSERT_TRUE(r.report["ok"].get<bool>()) << r.report.dump(2) << "\n" << r.command.output;
  EXPECT_EQ(r.report["run_id"], 2);
  std::vector<std::string> listed;
  for (const auto& label : r.report["clickables"]) {
    if (label.get<std::string>().rfind("run:", 0) == 0) listed.push_back(label);
  }
  EXPECT_EQ(listed, std::vector<std::string>{"run:2"}) << r.report["clickables"].dump();
}

TEST(TimelineFindZone, TypedPhaseNamesFindTheirZonesWithAHistogram) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("find-zone");
  const nlohmann::json script = nlohmann::json::array({
      {{"click", "view:timeline"}},
      {{"click", "tab:find zone"}},
      {{"click", "find zone"}},
      {{"type", "attention"}},
      {{"screenshot", dir.string() + "/find.png"}},
  });
  const auto r = play(dir, "--synthetic 200x8x4", script);
  ASSERT_TRUE(r.report.is_object()) << r.command.output;
  ASSERT_TRUE(r.report["ok"].get<bool>()) << r.report.dump(2) << "\n" << r.command.output;
  EXPECT_EQ(r.report["find_zone"]["query"], "attention");
  // One attention zone per step and MoE layer.
  EXPECT_GT(r.report["find_zone"]["matches"].get<int>(), 4) << r.report["find_zone"].dump();
  const Image shot = read_png(dir / "find.png");
  EXPECT_GT(contrast_edges(shot, {270, kHeight / 2, kWidth - 30, kHeight - 40}), 200)
      << "no statistics or histogram";
}

TEST(PngExport, FileExportPngAt2xWritesTheViewAtTwiceTheWindowsPixels) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  const auto dir = scratch_dir("png-2x");
  const nlohmann::json script = nlohmann::json::array({
      {{"click", "view:heatmaps"}},
      {{"export_png", (dir / "heatmaps@2x.png").string()}},
  });
  const auto r = play(dir, "--synthetic 300x16x4", script);
  ASSERT_TRUE(r.report.is_object()) << r.command.output;
  ASSERT_TRUE(r.report["ok"].get<bool>()) << r.report.dump(2) << "\n" << r.command.output;
  const Image img = read_png(dir / "heatmaps@2x.png");
  ASSERT_EQ(img.width, 2 * kWidth) << r.command.output;
  ASSERT_EQ(img.height, 2 * kHeight);
  // The heatmaps at twice the size: many colour-map shades in the score map's quadrant.
  EXPECT_GT(distinct_colors(img, {2 * 270, 2 * 110, kWidth - 120, kHeight - 40}), 40);
}

}  // namespace linked_selection_test
}  // namespace moescope::test
