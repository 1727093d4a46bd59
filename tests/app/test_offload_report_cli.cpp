// Focus: `moescope report --run N` on a run with offloaded experts (issue 17's offload profile):
// per MoE layer the lookups, misses, hit rate, bytes, copy and stall time summed over the run's
// steps, in the text table and in --json, equal to the sums of the events the recorder was given;
// a run without them says so and has `"offload": null`.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct LayerSums {
  int64_t lookups = 0, hits = 0, prefetched = 0, prefetch_hits = 0, bytes = 0;
  double copy_us = 0, stall_us = 0;
};

// Records `spec` into scratch_dir(label)/s.db and returns the sent events summed per layer.
std::map<int32_t, LayerSums> record(const std::filesystem::path& db, const test::SyntheticSpec& spec) {
  sessions::RecorderOptions options;
  options.store_scores = false;
  sessions::SessionWriter writer(db, "test", options);
  const test::SentRun sent = test::record_synthetic_run(writer, writer.add_model(test::synthetic_model()), spec);
  writer.flush();
  std::map<int32_t, LayerSums> sums;
  for (const OffloadEvent& e : sent.offload) {
    LayerSums& s = sums[e.layer];
    s.lookups += e.lookups;
    s.hits += e.hits;
    s.prefetched += e.prefetched;
    s.prefetch_hits += e.prefetch_hits;
    s.bytes += e.bytes_copied;
    s.copy_us += e.copy_us;
    s.stall_us += e.stall_us;
  }
  return sums;
}

test::CommandResult report(const std::filesystem::path& db, const std::string& extra = "") {
  return test::run_command(test::moescope_binary().string() + " report --db " + db.string() + " --run 1 " + extra);
}

TEST(OffloadReportCli, Case1_JsonHasEachLayersSumsAndTheRunsTotals) {
  const auto db = test::scratch_dir("report-offload-json") / "s.db";
  test::SyntheticSpec spec;  // layers 1, 2, 4 of 8 experts, top-2
  spec.offload_slots = 3;
  spec.decode_steps = 20;
  const auto sums = record(db, spec);
  const auto r = report(db, "--json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  const auto& layers = json["offload"]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  LayerSums total;
  for (const auto& layer : layers) {
    const LayerSums& want = sums.at(layer["layer"].get<int32_t>());
    EXPECT_EQ(layer["steps"], 21);
    EXPECT_EQ(layer["lookups"], want.lookups);
    EXPECT_EQ(layer["hits"], want.hits);
    EXPECT_EQ(layer["misses"], want.lookups - want.hits);
    EXPECT_DOUBLE_EQ(layer["hit_rate"].get<double>(), static_cast<double>(want.hits) / static_cast<double>(want.lookups));
    EXPECT_EQ(layer["prefetched"], want.prefetched);
    EXPECT_EQ(layer["prefetch_hits"], want.prefetch_hits);
    EXPECT_EQ(layer["bytes_copied"], want.bytes);
    EXPECT_DOUBLE_EQ(layer["copy_us"].get<double>(), want.copy_us);
    EXPECT_DOUBLE_EQ(layer["stall_us"].get<double>(), want.stall_us);
    total.lookups += want.lookups;
    total.hits += want.hits;
    total.bytes += want.bytes;
  }
  EXPECT_GT(total.hits, 0);
  EXPECT_LT(total.hits, total.lookups);
  EXPECT_EQ(json["offload"]["run"]["lookups"], total.lookups);
  EXPECT_EQ(json["offload"]["run"]["hits"], total.hits);
  EXPECT_EQ(json["offload"]["run"]["bytes_copied"], total.bytes);
  EXPECT_EQ(json["offload"]["run"]["steps"], 3 * 21);
}

TEST(OffloadReportCli, Case2_TheTableHasARowPerLayerOfADeepSeekV3ShapedRun) {
  const auto db = test::scratch_dir("report-offload-text") / "s.db";
  test::SyntheticSpec spec;
  spec.moe_layers.resize(58);
  std::iota(spec.moe_layers.begin(), spec.moe_layers.end(), 3);  // layers 3..60
  spec.n_experts = 256;
  spec.top_k = 8;
  spec.prompt_tokens = 4;
  spec.decode_steps = 6;
  spec.ep_ranks = 0;
  spec.offload_slots = 16;
  spec.expert_bytes = int64_t{44} << 20;
  const auto sums = record(db, spec);
  const auto r = report(db);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& out = r.output;
  const size_t table = out.find("expert offloading per layer");
  ASSERT_NE(table, std::string::npos) << out;
  EXPECT_NE(out.find("lookups    misses hit rate    MB copied     copy ms    stall ms", table), std::string::npos) << out;
  // Layer 60's row: lookups, misses and MB as the sent events sum them.
  const LayerSums& last = sums.at(60);
  char row[96];
  std::snprintf(row, sizeof row, "%5d %9lld %9lld %8.3f %12.1f", 60, static_cast<long long>(last.lookups),
                static_cast<long long>(last.lookups - last.hits),
                static_cast<double>(last.hits) / static_cast<double>(last.lookups), static_cast<double>(last.bytes) / 1e6);
  EXPECT_NE(out.find(row, table), std::string::npos) << row << "\n" << out;
  EXPECT_NE(out.find("\n  all ", table), std::string::npos) << out;
  EXPECT_NE(out.find("prefetched prefetch hits", table), std::string::npos) << "the synthetic run prefetched: " << out;
  size_t rows = 0;
  for (int32_t layer = 3; layer <= 60; ++layer) {
    std::snprintf(row, sizeof row, "\n%5d %9lld ", layer, static_cast<long long>(sums.at(layer).lookups));
    rows += out.find(row, table) != std::string::npos;
  }
  EXPECT_EQ(rows, 58u);
}

TEST(OffloadReportCli, Case3_ARunWithoutOffloadingSaysSo) {
  const auto db = test::scratch_dir("report-offload-none") / "s.db";
  record(db, test::SyntheticSpec{});
  const auto text = report(db);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("expert offloading: none recorded (record with --backend cuda --offload-experts)"),
            std::string::npos)
      << text.output;
  const auto json = report(db, "--json");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_TRUE(nlohmann::json::parse(json.output)["offload"].is_null());
}

}  // namespace
}  // namespace moescope
