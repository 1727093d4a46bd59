// Focus: the timeline's counter and modelled all-to-all rows and its link to the selection
// (ui/timeline_counters.h, ui/timeline_link.h), and the EP matrix' rank labels
// (ui/ep_traffic_matrix.h), on synthetic runs: each step's tokens per second and the chosen
// expert's tokens are exactly what the routing says; each modelled exchange sits on its own
// layer's all-to-all zones; a per-pixel reduction keeps a one-step spike; a zoom maps to the
// steps in view; rank labels thin out so they never overlap.
#include "ui/timeline_counters.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ui/app_state.h"
#include "ui/ep_traffic_matrix.h"
#include "ui/synthetic_session.h"
#include "ui/timeline_link.h"
#include "ui/timeline_tracks.h"

namespace moescope::ui {
namespace timeline_counters_test {

struct Prepared {
  std::shared_ptr<RunData> run;
  TimelineState tracks;
};

// 160 tokens (48 of prompt in step 0, then one per step), 16 experts, 3 layers.
Prepared prepared_run(int32_t ep_degree) {
  SyntheticSpec spec;
  spec.n_tokens = 160;
  spec.n_experts = 16;
  spec.n_layers = 3;
  spec.ep_degree = ep_degree;
  Prepared p{make_synthetic_run(spec, 1, "code", spec.n_tokens), {}};
  prepare_tracks(*p.run, p.tracks);
  return p;
}

// 1. Tokens per second: each step's tokens over its duration, the prefill step holding the prompt.
TEST(TimelineCounters, TokensPerSecondIsEachStepsTokensOverItsDuration) {
  const Prepared p = prepared_run(1);
  const CounterTrack track = tokens_per_second(p.run->routing.step_of_token, p.tracks.steps);
  ASSERT_EQ(track.samples.size(), p.tracks.steps.size());
  ASSERT_EQ(track.samples.size(), 160u - 48u + 1u);
  double largest = 0;
  for (size_t i = 0; i < track.samples.size(); ++i) {
    const PlacedZone& z = p.tracks.steps[i];
    const double tokens = z.step == 0 ? 48 : 1;
    EXPECT_DOUBLE_EQ(track.samples[i].value, tokens / ((z.end_us - z.begin_us) * 1e-6)) << "step " << z.step;
    EXPECT_EQ(track.samples[i].begin_us, z.begin_us);
    largest = std::max(largest, track.samples[i].value);
  }
  EXPECT_DOUBLE_EQ(track.max_value, largest);
}

// 2. The chosen expert's tokens per step count the step's tokens whose top-k holds it at the layer.
TEST(TimelineCounters, ExpertTokensCountTheStepsTokensRoutedToTheExpertAtTheLayer) {
  const Prepared p = prepared_run(1);
  const auto& r = p.run->routing;
  for (int32_t layer : {0, 2}) {
    for (int32_t expert : {0, 5, 15}) {
      const CounterTrack track = expert_tokens_per_step(r, p.tracks.steps, layer, expert);
      ASSERT_EQ(track.samples.size(), p.tracks.steps.size());
      int64_t total = 0, expected_total = 0;
      for (const CounterSample& s : track.samples) {
        int64_t expected = 0;
        for (int32_t t = 0; t < r.n_tokens; ++t) {
          if (r.step_of_token[static_cast<size_t>(t)] != s.step) continue;
          for (int32_t k = 0; k < r.top_k; ++k)
            expected += r.topk_ids[r.topk_offset(layer, t) + k] == expert ? 1 : 0;
        }
        EXPECT_EQ(s.value, static_cast<double>(expected))
            << "layer " << layer << " expert " << expert << " step " << s.step;
        total += static_cast<int64_t>(s.value);
        expected_total += expected;
      }
      EXPECT_EQ(total, expected_total);
    }
  }
  EXPECT_TRUE(expert_tokens_per_step(r, p.tracks.steps, 0, 16).samples.empty()) << "no such expert";
  EXPECT_TRUE(expert_tokens_per_step(r, p.tracks.steps, 3, 0).samples.empty()) << "no such layer";
}

// 3. One modelled exchange per traffic matrix, starting at its layer's first all-to-all zone of
// that step, as long as modelled, in time order without overlap.
TEST(TimelineCounters, ModelledExchangesSitOnTheirLayersAllToAllZones) {
  const Prepared p = prepared_run(4);
  const auto& traffic = p.run->traffic;
  const auto ex = place_modelled_exchanges(traffic, p.tracks.steps, p.tracks.phases, p.tracks.layers);
  ASSERT_EQ(ex.size(), traffic.size());
  for (size_t i = 0; i < ex.size(); ++i) {
    const ModelledExchange& e = ex[i];
    double first = -1, sum = 0;
    for (const PlacedZone& z : p.tracks.phases) {
      if (z.step != e.step || z.layer != e.layer || z.phase != static_cast<int32_t>(Phase::all_to_all))
        continue;
      if (first < 0) first = z.begin_us;
      sum += z.end_us - z.begin_us;
    }
    ASSERT_GE(first, 0) << "step " << e.step << " layer " << e.layer;
    EXPECT_DOUBLE_EQ(e.begin_us, first);
    EXPECT_NEAR(e.phase_us, sum, 1e-9);
    const auto m = std::find_if(traffic.begin(), traffic.end(), [&](const TrafficMatrix& t) {
      return t.step == e.step && t.layer == e.layer;
    });
    ASSERT_NE(m, traffic.end());
    EXPECT_DOUBLE_EQ(e.modeled_us, m->modeled_us);
    EXPECT_LE(e.end_us, e.begin_us + e.modeled_us + 1e-9);
    if (i > 0) {
      EXPECT_LE(ex[i - 1].end_us, e.begin_us) << "exchanges overlap";
    }
  }
  const Prepared no_ep = prepared_run(1);
  EXPECT_TRUE(place_modelled_exchanges(no_ep.run->traffic, no_ep.tracks.steps, no_ep.tracks.phases,
                                       no_ep.tracks.layers)
                  .empty());
}

// 4. A pixel column shows the largest value under it, so a one-step spike is never averaged away;
// columns past the samples are empty.
TEST(TimelineCounters, ColumnMaxKeepsTheLargestValueUnderEachPixel) {
  CounterTrack track;
  track.samples = {{0, 10, 0, 1.0}, {10, 11, 1, 50.0}, {11, 20, 2, 2.0}};
  track.max_value = 50;
  EXPECT_EQ(column_max(track, 0, 30, 3), (std::vector<double>{1.0, 50.0, -1.0}));
  EXPECT_EQ(column_max(track, 0, 20, 4), (std::vector<double>{1.0, 1.0, 50.0, 2.0}));
  EXPECT_EQ(column_max(track, 10.25, 10.75, 2), (std::vector<double>{50.0, 50.0}))
      << "zoomed inside one step";
  ASSERT_NE(sample_at(track, 10.5), nullptr);
  EXPECT_EQ(sample_at(track, 10.5)->step, 1);
  EXPECT_EQ(sample_at(track, 25), nullptr);
}

// 5. A timeline view selects the steps whose middle it shows; zoomed inside one step, that step.
TEST(TimelineLink, AViewSelectsTheStepsWhoseMiddleItShows) {
  std::vector<PlacedZone> steps;
  for (int64_t s = 0; s < 5; ++s) steps.push_back({s * 10.0, s * 10.0 + 10, s, -1, -1});
  EXPECT_EQ(steps_in_view(steps, 0, 50), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(steps_in_view(steps, 12, 38), (std::pair<int64_t, int64_t>{1, 3}));
  EXPECT_EQ(steps_in_view(steps, 16, 34), (std::pair<int64_t, int64_t>{2, 2}))
      << "steps 1 and 3 have their middles outside";
  EXPECT_EQ(steps_in_view(steps, 21, 23), (std::pair<int64_t, int64_t>{2, 2})) << "inside step 2";
  EXPECT_EQ(steps_in_view(steps, 60, 70), (std::pair<int64_t, int64_t>{-1, -1}));
  EXPECT_EQ(steps_in_view({}, 0, 10), (std::pair<int64_t, int64_t>{-1, -1}));
}

// 6. Rank labels: every rank while cells are wider than a label, else every 2nd, 5th, 10th, ...
TEST(EpTrafficMatrix, RankLabelsThinOutSoTheyNeverOverlap) {
  EXPECT_EQ(rank_label_stride(4, 100, 20), 1);
  EXPECT_EQ(rank_label_stride(16, 15, 20), 2);
  EXPECT_EQ(rank_label_stride(64, 6, 25), 5);
  EXPECT_EQ(rank_label_stride(256, 2, 30), 20);
  EXPECT_EQ(rank_label_stride(8, 1, 500), 10) << "never more than the ranks";
  for (int n : {2, 8, 32, 128}) {
    for (float cell : {2.0f, 7.0f, 40.0f}) {
      const int stride = rank_label_stride(n, cell, 24);
      EXPECT_TRUE(stride * cell >= 24 || stride >= n) << n << " ranks, " << cell << " px";
    }
  }
}

}  // namespace timeline_counters_test
}  // namespace moescope::ui
