// Focus: the timeline's find-zone search (ui/zone_search.h): a query's words select phases by
// name, "layer N" and "step N" narrow them, and the statistics and log-scaled histogram describe
// exactly the matching zones.
#include "ui/zone_search.h"

#include <gtest/gtest.h>

#include "ui/app_state.h"

namespace moescope::ui {
namespace zone_search_test {

PlacedZone zone(double begin, double duration, int64_t step, int32_t layer, Phase phase) {
  return {begin, begin + duration, step, layer, static_cast<int32_t>(phase)};
}

TEST(ZoneSearch, ParsesWordsLayerAndStep) {
  const ZoneQuery q = parse_zone_query("Expert  layer 3 step 12");
  EXPECT_EQ(q.words, std::vector<std::string>{"expert"});
  EXPECT_EQ(q.layer, 3);
  EXPECT_EQ(q.step, 12);
  const ZoneQuery plain = parse_zone_query("layer attention");
  EXPECT_EQ(plain.layer, -1) << "'layer' without a number is a word";
  EXPECT_EQ(plain.words, (std::vector<std::string>{"layer", "attention"}));
}

TEST(ZoneSearch, MatchesByPhaseNameLayerAndStepWithExactStatistics) {
  const std::string attention(phase_name(Phase::attention));
  std::vector<PlacedZone> phases;
  // Two steps, two layers: attention zones of 10, 20, 30 and 40 us, one router zone of 5 us.
  phases.push_back(zone(0, 10, 0, 1, Phase::attention));
  phases.push_back(zone(10, 5, 0, 1, Phase::router));
  phases.push_back(zone(15, 20, 0, 2, Phase::attention));
  phases.push_back(zone(35, 30, 1, 1, Phase::attention));
  phases.push_back(zone(65, 40, 1, 2, Phase::attention));
  const ZoneSearch all_attention = search_zones(phases, parse_zone_query(attention), 4);
  EXPECT_EQ(all_attention.matches, (std::vector<size_t>{0, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(all_attention.total_us, 100);
  EXPECT_DOUBLE_EQ(all_attention.mean_us, 25);
  EXPECT_DOUBLE_EQ(all_attention.min_us, 10);
  EXPECT_DOUBLE_EQ(all_attention.max_us, 40);
  EXPECT_EQ(all_attention.longest, 4u);
  int64_t counted = 0;
  for (int64_t c : all_attention.histogram) counted += c;
  EXPECT_EQ(counted, 4);
  ASSERT_EQ(all_attention.bin_edges_us.size(), 5u);
  EXPECT_DOUBLE_EQ(all_attention.bin_edges_us.front(), 10);
  EXPECT_NEAR(all_attention.bin_edges_us[2], 20, 1e-9) << "log-spaced: the middle edge is the geometric mean";
  // Edges 10, 14.1, 20, 28.3, 40: 10 | - | 20 | 30 and 40 (the longest closes the last bin).
  EXPECT_EQ(all_attention.histogram, (std::vector<int64_t>{1, 0, 1, 2}));

  EXPECT_EQ(search_zones(phases, parse_zone_query(attention + " layer 2"), 4).matches,
            (std::vector<size_t>{2, 4}));
  EXPECT_EQ(search_zones(phases, parse_zone_query("step 0"), 4).matches, (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(search_zones(phases, parse_zone_query("nosuchphase"), 4).matches.empty());
}

}  // namespace zone_search_test
}  // namespace moescope::ui
