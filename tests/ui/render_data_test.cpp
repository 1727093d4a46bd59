// Focus: the GL-free pieces under the views: colour maps against matplotlib's values, max-pooling
// of heatmap cells (a hot cell survives any downsampling), hovered-cell arithmetic, timeline track
// preparation and visible-range search, token layout, and settings that never stop the app.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "tests/support/test_paths.h"
#include "ui/colormap.h"
#include "ui/heatmap_image.h"
#include "ui/settings.h"
#include "ui/synthetic_session.h"
#include "ui/timeline_tracks.h"
#include "ui/token_layout.h"

namespace moescope::ui {
namespace {

// 1. Colour maps match matplotlib at their ends (the polynomial fits are within 0.025) and are
// monotonic in lightness.
TEST(Colormap, ViridisAndMagmaEndpointsMatchMatplotlib) {
  const Rgb v0 = sample_colormap(Colormap::viridis, 0), v1 = sample_colormap(Colormap::viridis, 1);
  EXPECT_NEAR(v0.r, 0.267, 0.025);
  EXPECT_NEAR(v0.g, 0.005, 0.025);
  EXPECT_NEAR(v0.b, 0.329, 0.025);
  EXPECT_NEAR(v1.r, 0.993, 0.025);
  EXPECT_NEAR(v1.g, 0.906, 0.025);
  EXPECT_NEAR(v1.b, 0.144, 0.025);
  const Rgb m1 = sample_colormap(Colormap::magma, 1);
  EXPECT_NEAR(m1.r, 0.987, 0.025);
  EXPECT_NEAR(m1.g, 0.991, 0.025);
  EXPECT_NEAR(m1.b, 0.750, 0.025);
}

TEST(Colormap, SequentialMapsGetLighterAlongTheirLength) {
  for (Colormap map : {Colormap::viridis, Colormap::magma}) {
    const ColorLut& lut = colormap_lut(map);
    for (int i = 16; i < 256; i += 16) EXPECT_GT(luminance(lut[i]), luminance(lut[i - 16])) << colormap_name(map) << " at " << i;
  }
}

TEST(Colormap, CategoricalColoursOf256ExpertsAreAllDistinct) {
  std::set<uint32_t> seen;
  for (int e = 0; e < 256; ++e) seen.insert(categorical_color(e));
  EXPECT_EQ(seen.size(), 256u);
}

// 2. Max-pooling keeps the maximum of each block.
TEST(HeatmapImage, AHotCellSurvivesDownsamplingTenfold) {
  std::vector<float> grid(1000 * 10, 0.0f);  // (1000, 10)
  grid[537 * 10 + 3] = 1.0f;
  const auto& lut = colormap_lut(Colormap::viridis);
  const HeatmapImage img = render_heatmap(1000, 10, grid.data(), 0.0f, 1.0f, lut, 10, 100);
  ASSERT_EQ(img.width, 10);
  ASSERT_EQ(img.height, 100);
  EXPECT_EQ(img.rgba[53 * 10 + 3], lut[255]);
  EXPECT_EQ(img.rgba[52 * 10 + 3], lut[0]);
  EXPECT_EQ(img.rgba[53 * 10 + 2], lut[0]);
}

TEST(HeatmapImage, NanCellsAreTransparentAndSmallGridsAreNotScaled) {
  const float grid[] = {0.0f, NAN, 1.0f, 0.5f};
  const HeatmapImage img = render_heatmap(2, 2, grid, 0.0f, 1.0f, colormap_lut(Colormap::magma), 4096, 4096);
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 2);
  EXPECT_EQ(img.rgba[1] >> 24, 0u);
  EXPECT_EQ(img.rgba[0] >> 24, 255u);
}

TEST(HeatmapImage, HoveredCellComesFromTheFractionOfTheExtent) {
  EXPECT_EQ(cell_at(256, 10000, 0.5, 0.0).col, 5000);
  EXPECT_EQ(cell_at(256, 10000, 0.99999, 0.99999).row, 255);
  EXPECT_EQ(cell_at(256, 10000, 1.0, 0.5).row, -1);
  EXPECT_EQ(cell_at(256, 10000, -0.01, 0.5).col, -1);
}

// 3. Timeline tracks: steps end to end, zones found by binary search.
TEST(TimelineTracks, StepsAreLaidEndToEndAndVisibleRangeFindsTheirZones) {
  SyntheticSpec spec;
  spec.n_tokens = 60;
  spec.n_experts = 8;
  spec.n_layers = 2;
  const auto run = make_synthetic_run(spec, 1, "code", 60);
  TimelineState s;
  prepare_tracks(*run, s);
  ASSERT_EQ(s.steps.size(), static_cast<size_t>(60 - 48 + 1));  // prefill of 48 tokens, then one per step
  for (size_t i = 1; i < s.steps.size(); ++i) EXPECT_DOUBLE_EQ(s.steps[i].begin_us, s.steps[i - 1].end_us);
  EXPECT_DOUBLE_EQ(s.total_us, s.steps.back().end_us);
  const PlacedZone& mid = s.steps[5];
  const auto [first, last] = visible_range(s.phases, mid.begin_us, mid.end_us);
  ASSERT_LT(first, last);
  for (size_t i = first; i < last; ++i) EXPECT_EQ(s.phases[i].step, 5);
  const auto stats = phase_stats(s, mid.begin_us, mid.end_us);
  double total = 0;
  for (const auto& p : stats) total += p.total_us;
  EXPECT_NEAR(total, mid.end_us - mid.begin_us, 1e-6);
}

// 4. Token layout wraps at the width and breaks after newline tokens.
TEST(TokenLayout, WrapsAtTheWidthAndBreaksAfterNewlines) {
  const std::vector<std::string> texts = {"aaaa", "bbbb", "\\n", "cc", "dddddddd", "eeee"};
  const TokenLayout lay = layout_tokens(texts, 24.0f, 10.0f, 0.0f, [](const std::string& s) { return 2.0f * s.size(); });
  EXPECT_EQ(lay.y[0], 0.0f);
  EXPECT_EQ(lay.y[1], 0.0f);
  EXPECT_EQ(lay.y[3], 10.0f) << "a newline token ends its line";
  EXPECT_EQ(lay.y[4], 10.0f);
  EXPECT_EQ(lay.y[5], 20.0f) << "no room left on the line";
  const auto [a, b] = visible_lines(lay, 11.0f, 19.0f);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

// 5. Settings: a broken file gives defaults; a saved file round-trips.
TEST(Settings, ABrokenFileGivesDefaultsAndSavedSettingsRoundTrip) {
  const auto dir = test::scratch_dir("ui-settings");
  std::ofstream(dir / "broken.json") << "{ not json";
  EXPECT_TRUE(load_settings(dir / "broken.json").dark_theme);
  Settings s;
  s.dark_theme = false;
  s.colormap = Colormap::magma;
  remember_recent(s.recent_sessions, "/a.db");
  remember_recent(s.recent_sessions, "/b.db");
  remember_recent(s.recent_sessions, "/a.db");
  save_settings(s, dir / "settings.json");
  const Settings back = load_settings(dir / "settings.json");
  EXPECT_FALSE(back.dark_theme);
  EXPECT_EQ(back.colormap, Colormap::magma);
  EXPECT_EQ(back.recent_sessions, (std::vector<std::string>{"/a.db", "/b.db"}));
}

TEST(SyntheticSpec, RejectsMalformedSizesWithTheText) {
  EXPECT_EQ(parse_synthetic_spec("10000x256x8").n_experts, 256);
  try {
    parse_synthetic_spec("10000xbig");
    FAIL() << "accepted a malformed spec";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("10000xbig"), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope::ui
