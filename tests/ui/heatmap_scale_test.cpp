// Focus: heatmaps at real-model scale (issue #18), the GL-free parts: the visible window is
// rendered at exactly the plot's pixels, each pixel pooling the cells it covers by max or mean
// (never one sampled cell, which hides a hot expert among 256); expert orders by id, load and
// co-activation cluster; the top-N palette with one "other", and no expert coloured like
// "no expert" (expert 7 used to be grey).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "ui/colormap.h"
#include "ui/expert_order.h"
#include "ui/heatmap_image.h"

namespace moescope::ui {
namespace {

const ColorLut& lut() { return colormap_lut(Colormap::viridis); }

// 1. Pooling.
TEST(HeatmapPooling, MaxPoolingKeepsOneHotCellAmong256ExpertsAt64Pixels) {
  const int32_t rows = 256, cols = 10000;
  std::vector<float> grid(static_cast<size_t>(rows) * cols, 0.0f);
  grid[static_cast<size_t>(201) * cols + 7777] = 1.0f;  // one hot cell
  const HeatmapImage img = render_heatmap_window(rows, cols, grid.data(), {}, {}, {0, rows, 0, cols}, 300, 64, Pooling::max, 0, 1, lut());
  ASSERT_EQ(img.width, 300);
  ASSERT_EQ(img.height, 64);
  const int hot_row = 201 * 64 / 256, hot_col = 7777 * 300 / 10000;
  EXPECT_EQ(img.rgba[static_cast<size_t>(hot_row) * 300 + hot_col], lut()[255]);
  const auto hot = std::count(img.rgba.begin(), img.rgba.end(), lut()[255]);
  EXPECT_EQ(hot, 1) << "exactly the pixel over the hot cell is hot";
}

TEST(HeatmapPooling, MeanPoolingAveragesTheCellsAPixelCovers) {
  // 1 x 4 grid into 1 x 2 pixels: (0, 1) -> 0.5, (1, 1) -> 1.
  const float grid[] = {0.0f, 1.0f, 1.0f, 1.0f};
  const HeatmapImage mean = render_heatmap_window(1, 4, grid, {}, {}, {0, 1, 0, 4}, 2, 1, Pooling::mean, 0, 1, lut());
  EXPECT_EQ(mean.rgba[0], lut()[127]);
  EXPECT_EQ(mean.rgba[1], lut()[255]);
  const HeatmapImage max = render_heatmap_window(1, 4, grid, {}, {}, {0, 1, 0, 4}, 2, 1, Pooling::max, 0, 1, lut());
  EXPECT_EQ(max.rgba[0], lut()[255]);
}

TEST(HeatmapPooling, AZoomedWindowShowsOnlyItsCellsEachOverSeveralPixels) {
  // Cells 0..9 valued 0..9; the window [2, 4) at 4 pixels: two pixels per cell.
  std::vector<float> grid(10);
  for (int i = 0; i < 10; ++i) grid[static_cast<size_t>(i)] = static_cast<float>(i);
  const HeatmapImage img = render_heatmap_window(1, 10, grid.data(), {}, {}, {0, 1, 2, 4}, 4, 1, Pooling::max, 0, 10, lut());
  EXPECT_EQ(img.rgba[0], img.rgba[1]);
  EXPECT_EQ(img.rgba[2], img.rgba[3]);
  EXPECT_EQ(img.rgba[0], lut()[51]);  // 2 / 10 of 255
  EXPECT_EQ(img.rgba[3], lut()[76]);  // 3 / 10 of 255, rounded down
}

TEST(HeatmapPooling, RowOrderPutsTheChosenRowFirst) {
  const float grid[] = {0.0f, 1.0f};  // 2 rows x 1 column
  const HeatmapImage img = render_heatmap_window(2, 1, grid, {1, 0}, {}, {0, 2, 0, 1}, 1, 2, Pooling::max, 0, 1, lut());
  EXPECT_EQ(img.rgba[0], lut()[255]);
  EXPECT_EQ(img.rgba[1], lut()[0]);
}

TEST(HeatmapPooling, CategoricalPixelsTakeTheMostFrequentExpert) {
  // One row of 6 tokens into 2 pixels: (5, 5, 3) -> 5; (3, 2, 2) -> 2.
  const int32_t ids[] = {5, 5, 3, 3, 2, 2};
  const int64_t counts[8] = {0, 0, 9, 8, 0, 7, 0, 0};
  const ExpertPalette palette = top_expert_palette(counts, 8, 3);
  const HeatmapImage img = render_categorical_window(1, 6, ids, {0, 1, 0, 6}, 2, 1, palette);
  EXPECT_EQ(img.rgba[0], palette.of(5));
  EXPECT_EQ(img.rgba[1], palette.of(2));
}

// 2. Expert order.
TEST(ExpertOrder, IdLoadAndClusterOrders) {
  const std::vector<int64_t> counts = {5, 50, 10, 40};
  EXPECT_EQ(expert_order(ExpertOrder::id, counts, {}), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(expert_order(ExpertOrder::load, counts, {}), (std::vector<int32_t>{1, 3, 2, 0}));
  // Experts 1 and 0 fire together, 3 and 2 fire together: the chain starts at the most used (1),
  // steps to its partner (0), restarts at the most used unplaced (3), then its partner (2).
  std::vector<int64_t> pairs(16, 0);
  auto both = [&](int i, int j, int64_t n) { pairs[static_cast<size_t>(i * 4 + j)] = pairs[static_cast<size_t>(j * 4 + i)] = n; };
  both(1, 0, 5);
  both(3, 2, 10);
  EXPECT_EQ(expert_order(ExpertOrder::cluster, counts, pairs), (std::vector<int32_t>{1, 0, 3, 2}));
  // Without co-activation the cluster order falls back to load.
  EXPECT_EQ(expert_order(ExpertOrder::cluster, counts, {}), expert_order(ExpertOrder::load, counts, {}));
}

TEST(ExpertOrder, EveryOrderIsAPermutationOf256Experts) {
  std::vector<int64_t> counts(256), pairs(256 * 256);
  for (int e = 0; e < 256; ++e) counts[static_cast<size_t>(e)] = (e * 37) % 101;
  for (size_t i = 0; i < pairs.size(); ++i) pairs[i] = static_cast<int64_t>((i * 2654435761u) % 7);
  for (ExpertOrder how : {ExpertOrder::id, ExpertOrder::load, ExpertOrder::cluster}) {
    auto order = expert_order(how, counts, pairs);
    std::sort(order.begin(), order.end());
    for (int e = 0; e < 256; ++e) ASSERT_EQ(order[static_cast<size_t>(e)], e) << expert_order_name(how);
  }
}

// 3. Palette.
TEST(ExpertPalette, TheTopNGetDistinctColoursAndEveryOtherExpertSharesOther) {
  std::vector<int64_t> counts(256, 1);
  counts[200] = 90, counts[17] = 80, counts[3] = 70;
  const ExpertPalette p = top_expert_palette(counts.data(), 256, 3);
  EXPECT_EQ(p.top, (std::vector<int32_t>{200, 17, 3}));
  std::set<uint32_t> colours = {p.of(200), p.of(17), p.of(3)};
  EXPECT_EQ(colours.size(), 3u);
  EXPECT_EQ(colours.count(kOtherExpertColor), 0u);
  EXPECT_EQ(p.of(0), kOtherExpertColor);
  EXPECT_EQ(p.of(255), kOtherExpertColor);
  EXPECT_EQ(p.of(-1), kNoExpertColor);
}

TEST(ExpertPalette, NoExpertColourIsGreyLikeNoExpert) {
  // A colour whose channels are (almost) equal reads as grey: "no expert" / "not chosen".
  for (int32_t e = 0; e < 256; ++e) {
    const Rgb c = unpack_rgb(categorical_color(e));
    const float spread = std::max({c.r, c.g, c.b}) - std::min({c.r, c.g, c.b});
    EXPECT_GT(spread, 0.12f) << "expert " << e << " is grey";
    EXPECT_NE(categorical_color(e), kNoExpertColor) << e;
    EXPECT_NE(categorical_color(e), kOtherExpertColor) << e;
  }
}

}  // namespace
}  // namespace moescope::ui
