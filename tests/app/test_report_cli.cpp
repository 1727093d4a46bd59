// Focus: `moescope report --run N` beyond the load metrics (issue 19): expert-parallel traffic per
// MoE layer (bytes between ranks and on each rank, modelled time; measured time only where an
// engine measured one), co-activation in --json, and overflow recomputed for any --capacity factors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

const std::filesystem::path kReportDemo = test::source_dir() / "assets" / "models" / "demo-moe";
constexpr int64_t kDemoTopK = 2;  // assets/models/demo-moe/config.json num_experts_per_tok

std::string moescope_cli(const std::string& args) { return test::moescope_binary().string() + " " + args; }

// Records one short demo run into `db` (expert parallelism emulated over `ep_degree` ranks).
void record_demo_run(const std::filesystem::path& db, int ep_degree) {
  const auto r = test::run_command(moescope_cli("run --model " + kReportDemo.string() +
                                                " --prompt 'def f(x): return x' --max-new-tokens 3 --ep-degree " +
                                                std::to_string(ep_degree) + " --db " + db.string() + " 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

nlohmann::json report_json(const std::filesystem::path& db, int64_t run, const std::string& extra = "") {
  const auto r = test::run_command(moescope_cli("report --db " + db.string() + " --run " + std::to_string(run) +
                                                " --json " + extra));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(ReportCli, Case1_EpTrafficPerLayerWithModelledTimeAndNoMeasuredTimeOnTheCpu) {
  const auto db = test::scratch_dir("report-ep") / "s.db";
  record_demo_run(db, 4);
  const nlohmann::json out = report_json(db, 1);
  const auto& layers = out["metrics"]["layers"];
  ASSERT_EQ(out["ep_traffic"].size(), layers.size());
  for (const auto& layer : out["ep_traffic"]) {
    EXPECT_EQ(layer["n_ranks"], 4);
    EXPECT_GT(layer["bytes_between_ranks"].get<int64_t>(), 0);
    EXPECT_GT(layer["modeled_us"].get<double>(), 0.0);
    EXPECT_TRUE(layer["measured_us"].is_null()) << "the CPU engine emulates the exchange";
  }
  const auto text = test::run_command(moescope_cli("report --db " + db.string() + " --run 1"));
  EXPECT_NE(text.output.find("expert-parallel traffic per layer"), std::string::npos) << text.output;
}

TEST(ReportCli, Case2_ARunWithoutExpertParallelismSaysSo) {
  const auto db = test::scratch_dir("report-no-ep") / "s.db";
  record_demo_run(db, 1);
  EXPECT_TRUE(report_json(db, 1)["ep_traffic"].empty());
  const auto text = test::run_command(moescope_cli("report --db " + db.string() + " --run 1"));
  EXPECT_NE(text.output.find("expert-parallel traffic: none recorded"), std::string::npos) << text.output;
}

TEST(ReportCli, Case3_CoActivationCountsEachTokensPairsPerLayer) {
  const auto db = test::scratch_dir("report-coact") / "s.db";
  record_demo_run(db, 1);
  const nlohmann::json out = report_json(db, 1);
  const int64_t tokens = out["run"]["n_prompt_tokens"].get<int64_t>() + out["run"]["n_generated_tokens"].get<int64_t>();
  ASSERT_FALSE(out["co_activation"].empty());
  for (const auto& layer : out["co_activation"]) {
    const auto& pairs = layer["pair_count"];
    int64_t diagonal = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
      ASSERT_EQ(pairs[i].size(), pairs.size());
      diagonal += pairs[i][i].get<int64_t>();
      for (size_t j = 0; j < pairs.size(); ++j) EXPECT_EQ(pairs[i][j], pairs[j][i]) << "symmetric";
    }
    // Each routed token puts its top_k experts on the diagonal.
    EXPECT_EQ(diagonal % kDemoTopK, 0);
    EXPECT_GE(diagonal, (tokens - 1) * kDemoTopK);
    EXPECT_LE(diagonal, tokens * kDemoTopK);
    EXPECT_GT(layer["uniform_conditional"].get<double>(), 0.0);
  }
}

TEST(ReportCli, Case4_OverflowIsRecomputedForEveryCapacityFactorGiven) {
  const auto db = test::scratch_dir("report-capacity") / "s.db";
  record_demo_run(db, 1);
  const nlohmann::json out = report_json(db, 1, "--capacity 1,1.1,1.25");
  const auto& recomputed = out["capacity_overflow_recomputed"];
  ASSERT_EQ(recomputed.size(), 3u);
  EXPECT_EQ(recomputed[1]["capacity_factor"], 1.1);
  for (size_t i = 1; i < recomputed.size(); ++i)
    EXPECT_LE(recomputed[i]["overflow"].get<int64_t>(), recomputed[i - 1]["overflow"].get<int64_t>());
}

}  // namespace
}  // namespace moescope
