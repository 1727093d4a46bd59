// Focus: emulated expert parallelism — placements (contiguous, user map, balanced, EPLB with
// replicas) and their rank loads, token ownership, dispatch/combine traffic matrices per layer and
// step, and the modelled all-to-all time on an interconnect.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/analysis/ep_placement.h"
#include "core/analysis/ep_traffic.h"
#include "core/error.h"
#include "tests/core/test_analysis_fixtures.h"

namespace moescope::analysis {
namespace {

std::vector<int32_t> single_ranks(const ExpertPlacement& p) {
  std::vector<int32_t> out;
  for (const auto& holders : p.ranks_of_expert) {
    EXPECT_EQ(holders.size(), 1u);
    out.push_back(holders.front());
  }
  return out;
}

// 1. Contiguous blocks, user maps and their validation.
TEST(AnalysisEp, ContiguousAndUserPlacement) {
  EXPECT_EQ(single_ranks(contiguous_placement(8, 2)), (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(single_ranks(contiguous_placement(6, 4)), (std::vector<int32_t>{0, 0, 1, 2, 2, 3}));
  EXPECT_THROW(contiguous_placement(4, 5), InputError);
  EXPECT_THROW(contiguous_placement(4, 0), InputError);
  EXPECT_EQ(single_ranks(placement_from_map(std::vector<int32_t>{1, 0, 1, 0}, 2)), (std::vector<int32_t>{1, 0, 1, 0}));
  EXPECT_THROW(placement_from_map(std::vector<int32_t>{0, 2, 1, 0}, 2), InputError);
}

// 2. Loads (10, 8, 1, 1) on 2 ranks: contiguous gives (18, 2); balanced packing puts 10 and 1 on
//    rank 0 and 8 and 1 on rank 1 -> (11, 9).
TEST(AnalysisEp, BalancedPlacementPacksByLoad) {
  const std::vector<double> load = {10, 8, 1, 1};
  EXPECT_EQ(rank_load(load, contiguous_placement(4, 2)), (std::vector<double>{18, 2}));
  const ExpertPlacement p = balanced_placement(load, 2);
  EXPECT_EQ(single_ranks(p), (std::vector<int32_t>{0, 1, 1, 0}));
  EXPECT_EQ(rank_load(load, p), (std::vector<double>{11, 9}));
  EXPECT_THROW(balanced_placement(std::vector<double>{1, -1}, 2), InputError);
}

// 3. EPLB on loads (12, 2, 2, 2), 2 ranks, 2 redundant slots: expert 0 gets a second copy (then is
//    capped at one copy per rank), the tie among the rest goes to expert 1. Copies 6,6,2,2,1,1
//    pack to 9 and 9; contiguous had max 14.
TEST(AnalysisEp, EplbReplicatesHotExperts) {
  const std::vector<double> load = {12, 2, 2, 2};
  const EplbResult r = eplb_placement(load, 2, 2, contiguous_placement(4, 2));
  EXPECT_EQ(r.replicas, (std::vector<int32_t>{2, 2, 1, 1}));
  EXPECT_EQ(r.placement.ranks_of_expert[0], (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(r.placement.ranks_of_expert[1], (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(r.rank_load_before, (std::vector<double>{14, 4}));
  EXPECT_EQ(r.rank_load_after, (std::vector<double>{9, 9}));
  EXPECT_DOUBLE_EQ(r.max_rank_load_before, 14);
  EXPECT_DOUBLE_EQ(r.max_rank_load_after, 9);
  EXPECT_DOUBLE_EQ(r.mean_rank_load, 9);
  // Without redundancy it is the balanced placement.
  const EplbResult none = eplb_placement(std::vector<double>{10, 8, 1, 1}, 2, 0, contiguous_placement(4, 2));
  EXPECT_DOUBLE_EQ(none.max_rank_load_after, 11);
  EXPECT_THROW(eplb_placement(load, 2, 5, contiguous_placement(4, 2)), InputError);
}

// 4. Property: total load is conserved and never gets worse than the contiguous maximum.
TEST(AnalysisEp, EplbConservesLoad) {
  const std::vector<double> load = {90, 3, 7, 1, 40, 2, 2, 5, 30, 1, 1, 1, 9, 4, 6, 8};
  for (int R : {2, 4, 8}) {
    for (int extra : {0, 4, 8}) {
      const EplbResult r = eplb_placement(load, R, extra, contiguous_placement(16, R));
      EXPECT_NEAR(std::accumulate(r.rank_load_after.begin(), r.rank_load_after.end(), 0.0), 210.0, 1e-9);
      EXPECT_LE(r.max_rank_load_after, r.max_rank_load_before + 1e-9) << R << " " << extra;
      EXPECT_GE(r.max_rank_load_after, r.mean_rank_load - 1e-9);
    }
  }
}

// 5. Token ownership: contiguous blocks of the step's tokens.
TEST(AnalysisEp, TokenOwnership) {
  std::vector<int32_t> owners;
  for (int t = 0; t < 8; ++t) owners.push_back(token_owner(t, 8, 4));
  EXPECT_EQ(owners, (std::vector<int32_t>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(token_owner(2, 3, 2), 1);
  EXPECT_EQ(token_owner(1, 3, 2), 0);
  EXPECT_EQ(token_owner(0, 1, 4), 0);  // a decode step lives on rank 0
  EXPECT_THROW(token_owner(0, 0, 4), InputError);
  EXPECT_THROW(token_owner(3, 3, 2), InputError);
}

// 6. E=4 on 2 ranks (experts 0,1 | 2,3), one step of 4 tokens (t0,t1 on rank 0; t2,t3 on rank 1):
//    t0 (0,1) -> r0; t1 (0,2) -> r0, r1; t2 (3,1) -> r1, r0; t3 (2,0) -> r1, r0.
//    dispatch [[2,1],[2,2]], combine its transpose; hidden 4 x 2 bytes = 8 bytes a copy.
TEST(AnalysisEp, TrafficMatrixHandWorked) {
  const std::vector<int32_t> ids = {0, 1, 0, 2, 3, 1, 2, 0};
  const TrafficMatrix m = step_traffic(ids, 4, 2, contiguous_placement(4, 2), 4, 2);
  EXPECT_EQ(m.dispatch_tokens, (std::vector<int64_t>{2, 1, 2, 2}));
  EXPECT_EQ(m.combine_tokens, (std::vector<int64_t>{2, 2, 1, 2}));
  EXPECT_EQ(m.dispatch_bytes, (std::vector<int64_t>{16, 8, 16, 16}));
  // 1 GB/s moves 1000 bytes a microsecond; the busiest link carries 16 bytes each way.
  const Interconnect slow{"test", 1.0, 1.0};
  EXPECT_NEAR(modeled_all_to_all_us(m.dispatch_bytes, 2, slow), 1.016, 1e-12);
  EXPECT_NEAR(modeled_step_us(m, slow), 2.032, 1e-12);
  // A replica of expert 0 on rank 1 keeps t3's expert-0 copy local: rank 1 -> rank 0 drops to 1.
  ExpertPlacement replicated = contiguous_placement(4, 2);
  replicated.ranks_of_expert[0] = {0, 1};
  const TrafficMatrix r = step_traffic(ids, 4, 2, replicated, 4, 2);
  EXPECT_EQ(r.dispatch_tokens, (std::vector<int64_t>{2, 1, 1, 2}));
  EXPECT_THROW(step_traffic(ids, 3, 2, replicated, 4, 2), InputError);
  EXPECT_THROW(step_traffic(ids, 4, 2, replicated, 0, 2), InputError);
}

// 7. Property: with one expert per rank every assignment is one token copy, so each step's matrix
//    sums to the step's assignments; with one rank everything stays local and costs nothing.
TEST(AnalysisEp, TrafficSumsToAssignments) {
  auto a = test::make_uniform_routing(8, 2, 16, 2);
  for (int t = 0; t < 16; ++t) a.step_of_token[t] = t < 10 ? 0 : t - 9;  // 10-token prefill then decode
  const auto all = run_traffic(a, contiguous_placement(8, 8), 16, 2);
  ASSERT_EQ(all.size(), 2u * 7u);
  int64_t total = 0;
  for (const auto& m : all) {
    const int64_t sum = std::accumulate(m.dispatch_tokens.begin(), m.dispatch_tokens.end(), int64_t{0});
    EXPECT_EQ(sum, (m.step == 0 ? 10 : 1) * 2) << "layer " << m.layer << " step " << m.step;
    total += sum;
  }
  EXPECT_EQ(total, 2 * 16 * 2);
  const auto one = run_traffic(a, contiguous_placement(8, 1), 16, 2);
  EXPECT_EQ(one[0].dispatch_tokens, std::vector<int64_t>{10});
  EXPECT_EQ(modeled_step_us(one[0], nvlink4()), 0.0);
  EXPECT_THROW(run_traffic(a, contiguous_placement(4, 2), 16, 2), InputError);
}

// 8. Presets: 1 MB crossing NVLink 4 takes 3 us + 1e6 / 450e3 us.
TEST(AnalysisEp, InterconnectPresets) {
  const std::vector<int64_t> bytes = {0, 1'000'000, 0, 0};
  EXPECT_NEAR(modeled_all_to_all_us(bytes, 2, nvlink4()), 3.0 + 1e6 / 450e3, 1e-9);
  EXPECT_NEAR(modeled_all_to_all_us(bytes, 2, pcie5_x16()), 10.0 + 1e6 / 63e3, 1e-9);
  EXPECT_NEAR(modeled_all_to_all_us(bytes, 2, infiniband_400g()), 5.0 + 1e6 / 50e3, 1e-9);
  EXPECT_EQ(interconnect_preset("ib400")->bandwidth_GBps, 50.0);
  EXPECT_FALSE(interconnect_preset("token-ring").has_value());
  EXPECT_THROW(modeled_all_to_all_us(bytes, 2, Interconnect{"bad", 0.0, 1.0}), InputError);
  EXPECT_THROW(modeled_all_to_all_us(bytes, 3, nvlink4()), InputError);
}

}  // namespace
}  // namespace moescope::analysis
