// Focus: runs that enforce capacity in the GUI (ui/capacity_enforcement.h). A session recorded
// as `run --enforce-capacity C` records it (the factor in the settings, drop masks, KL to
// dropless per generated token) loads with that factor, the drops each token had (the overflow
// at C in token order, recomputed here from the routing) and each token's KL; its summary is what
// the Tokens and Load balance headers print. A dropless run shows none of it.
#include "ui/capacity_enforcement.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/analysis/capacity.h"
#include "tests/support/test_paths.h"
#include "tests/ui/session_fixture.h"
#include "ui/session_file_source.h"

namespace moescope::ui {
namespace capacity_enforcement_test {

SyntheticSpec small_spec() {
  SyntheticSpec spec;
  spec.n_tokens = 120;
  spec.n_experts = 8;
  spec.n_layers = 3;
  spec.n_runs = 1;
  spec.ep_degree = 1;
  return spec;
}

TEST(CapacityEnforcement, AnEnforcedRunLoadsItsFactorDropsAndKlToDropless) {
  const auto file = test::scratch_dir("enforced-session") / "session.db";
  test::write_synthetic_session(file, small_spec(), 1.0);
  auto source = open_session_source(file);
  const auto run = source->load_run(source->runs().front().id);
  ASSERT_NE(run, nullptr);
  EXPECT_DOUBLE_EQ(run->enforce_capacity_factor, 1.0);
  const auto& r = run->routing;
  ASSERT_EQ(run->dropped_per_token.size(), static_cast<size_t>(r.n_tokens));
  // The drops are the overflow at C = 1 per (layer, step) in token order.
  const analysis::CapacityOverflow expected = analysis::simulate_capacity(r, 1.0);
  int64_t total = 0;
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    int32_t drops = 0;
    for (int32_t l = 0; l < r.n_layers; ++l) {
      for (int32_t k = 0; k < r.top_k; ++k) drops += expected.dropped[r.topk_offset(l, t) + k];
    }
    EXPECT_EQ(run->dropped_per_token[static_cast<size_t>(t)], drops) << "token " << t;
    total += drops;
  }
  EXPECT_EQ(total, expected.n_dropped);
  EXPECT_GT(total, 0) << "the 48-token prefill overflows at C = 1";
  ASSERT_EQ(run->kl_to_dropless.size(), static_cast<size_t>(r.n_tokens));
  double kl_sum = 0, kl_max = -1;
  int32_t kl_count = 0, kl_max_token = -1;
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    const double kl = run->kl_to_dropless[static_cast<size_t>(t)];
    if (run->generated[static_cast<size_t>(t)] == 0) {
      EXPECT_TRUE(std::isnan(kl)) << "prompt token " << t << " has no KL";
      continue;
    }
    EXPECT_DOUBLE_EQ(kl, test::kl_to_dropless_of(t)) << "token " << t;
    kl_sum += kl;
    ++kl_count;
    if (kl > kl_max) kl_max = kl, kl_max_token = t;
  }
  const EnforcementSummary s = summarize_enforcement(*run);
  EXPECT_TRUE(s.enforced);
  EXPECT_DOUBLE_EQ(s.capacity_factor, 1.0);
  EXPECT_EQ(s.dropped, total);
  EXPECT_EQ(s.assignments, static_cast<int64_t>(r.n_layers) * r.n_tokens * r.top_k);
  EXPECT_EQ(s.kl_tokens, kl_count);
  EXPECT_NEAR(s.kl_mean, kl_sum / kl_count, 1e-12);
  EXPECT_DOUBLE_EQ(s.kl_max, kl_max);
  EXPECT_EQ(s.kl_max_token, kl_max_token);
}

TEST(CapacityEnforcement, ADroplessRunShowsNoEnforcement) {
  const auto file = test::scratch_dir("dropless-session") / "session.db";
  test::write_synthetic_session(file, small_spec());
  auto source = open_session_source(file);
  const auto run = source->load_run(source->runs().front().id);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->enforce_capacity_factor, 0.0);
  EXPECT_TRUE(run->dropped_per_token.empty());
  EXPECT_TRUE(run->kl_to_dropless.empty());
  const EnforcementSummary s = summarize_enforcement(*run);
  EXPECT_FALSE(s.enforced);
  EXPECT_EQ(s.dropped, 0);
  EXPECT_EQ(s.kl_tokens, 0);
}

}  // namespace capacity_enforcement_test
}  // namespace moescope::ui
