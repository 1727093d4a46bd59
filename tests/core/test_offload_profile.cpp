// Focus: the offload profile's sums (core/analysis/offload_profile.h): per-layer and run totals of
// the expert cache's counters, and the hit-rate grid over layers and spans of the run's steps.
#include "core/analysis/offload_profile.h"

#include <gtest/gtest.h>

namespace moescope::analysis {
namespace {

OffloadEvent event(int64_t step, int32_t layer, int32_t lookups, int32_t hits, int64_t bytes = 0, double copy_us = 0,
                   double stall_us = 0) {
  OffloadEvent e;
  e.step = step;
  e.layer = layer;
  e.lookups = lookups;
  e.hits = hits;
  e.bytes_copied = bytes;
  e.copy_us = copy_us;
  e.stall_us = stall_us;
  return e;
}

TEST(OffloadProfileSums, Case1_SumsPerLayerInLayerOrderAndOverTheRun) {
  // Events arrive in (step, layer) order; layers come out ascending whatever the order.
  const std::vector<OffloadEvent> events = {event(0, 7, 8, 0, 800, 10, 4), event(0, 3, 6, 2, 400, 5, 1),
                                            event(1, 7, 2, 2), event(1, 3, 2, 1, 100, 2, 2)};
  const OffloadProfile p = summarise_offload(events);
  ASSERT_EQ(p.layers.size(), 2u);
  EXPECT_EQ(p.layers[0].layer, 3);
  EXPECT_EQ(p.layers[0].steps, 2);
  EXPECT_EQ(p.layers[0].lookups, 8);
  EXPECT_EQ(p.layers[0].hits, 3);
  EXPECT_EQ(p.layers[0].misses(), 5);
  EXPECT_EQ(p.layers[0].bytes_copied, 500);
  EXPECT_DOUBLE_EQ(p.layers[0].copy_us, 7);
  EXPECT_DOUBLE_EQ(p.layers[0].stall_us, 3);
  EXPECT_EQ(p.layers[1].layer, 7);
  EXPECT_DOUBLE_EQ(p.layers[1].hit_rate(), 0.2);
  EXPECT_EQ(p.run.layer, -1);
  EXPECT_EQ(p.run.steps, 4);
  EXPECT_EQ(p.run.lookups, 18);
  EXPECT_EQ(p.run.hits, 5);
  EXPECT_EQ(p.run.bytes_copied, 1300);
  EXPECT_TRUE(summarise_offload({}).empty());
  EXPECT_EQ(summarise_offload({}).run.hit_rate(), 0.0);
}

TEST(OffloadProfileSums, Case2_TheGridCutsTheStepsIntoEqualSpans) {
  // Steps 0..9 of layers 1 and 2 into 4 spans: 10 steps * 4 / 10 -> bins 0,0,0,1,1,2,2,2,3,3.
  std::vector<OffloadEvent> events;
  for (int64_t step = 0; step < 10; ++step) {
    events.push_back(event(step, 1, 4, step < 3 ? 0 : 4));
    events.push_back(event(step, 2, 2, 1));
  }
  const OffloadHitGrid g = offload_hit_grid(events, 4);
  ASSERT_EQ(g.layers, (std::vector<int32_t>{1, 2}));
  ASSERT_EQ(g.n_bins, 4);
  EXPECT_EQ(g.bin_of(2), 0);
  EXPECT_EQ(g.bin_of(3), 1);
  EXPECT_EQ(g.bin_of(9), 3);
  EXPECT_DOUBLE_EQ(g.hit_rate(0, 0), 0.0);  // the cold start
  EXPECT_DOUBLE_EQ(g.hit_rate(0, 1), 1.0);
  EXPECT_DOUBLE_EQ(g.hit_rate(1, 2), 0.5);
  EXPECT_EQ(g.lookups[0 * 4 + 0], 12);
  // Fewer steps than bins: one bin per step; a layer missing from a step leaves its cell empty.
  const OffloadHitGrid small = offload_hit_grid(std::vector<OffloadEvent>{event(5, 1, 2, 1), event(6, 2, 2, 2)}, 64);
  EXPECT_EQ(small.n_bins, 2);
  EXPECT_EQ(small.first_step, 5);
  EXPECT_DOUBLE_EQ(small.hit_rate(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(small.hit_rate(0, 1), -1.0);
  EXPECT_EQ(offload_hit_grid({}, 8).n_bins, 0);
}

}  // namespace
}  // namespace moescope::analysis
