// Focus: the offload profile in session files (schema version 4, table offload_steps). The
// recorder stores every OffloadEvent an engine reports and the reader gives back exactly those, at
// DeepSeek-V3's shape; a version-3 file made by the old DDL upgrades to a fresh file's schema with
// its runs intact; a faulty event fails the recording with one line and a hostile stored row is
// refused with one line; the exports carry the rows.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <tuple>

#include "core/analysis/offload_profile.h"
#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "sessions/schema.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/session_fixtures.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// DeepSeek-V3: layers 3..60 are MoE (58 of them), 256 routed experts, top-8.
test::SyntheticSpec deepseek_v3_spec() {
  test::SyntheticSpec spec;
  spec.moe_layers.resize(58);
  std::iota(spec.moe_layers.begin(), spec.moe_layers.end(), 3);
  spec.n_experts = 256;
  spec.top_k = 8;
  spec.prompt_tokens = 6;
  spec.decode_steps = 12;
  spec.ep_ranks = 0;
  spec.offload_slots = 32;
  spec.expert_bytes = int64_t{44} << 20;  // one fp8 expert of V3 with its scales, about 44 MB
  return spec;
}

// Eight of those layers (3..10) over 2 prompt tokens and 2 decode steps: what the cases that are not
// about the full shape need (each run's per-expert tables grow with layers x experts).
test::SyntheticSpec short_v3_spec() {
  test::SyntheticSpec spec = deepseek_v3_spec();
  spec.moe_layers.resize(8);
  spec.prompt_tokens = 2;
  spec.decode_steps = 2;
  return spec;
}

sessions::ModelInfo deepseek_v3_model() {
  sessions::ModelInfo model = test::synthetic_model();
  model.path = "/synthetic/deepseek-v3";
  model.model_type = "deepseek_v3";
  model.family = "deepseek";
  model.config_json = R"({"model_type":"deepseek_v3"})";
  model.n_layers = 61;
  model.n_experts = 256;
  model.top_k = 8;
  return model;
}

// Records `spec` into scratch_dir(label)/s.db without score vectors (the offload rows are the point).
std::pair<fs::path, test::SentRun> record(const std::string& label, const test::SyntheticSpec& spec) {
  const fs::path path = test::scratch_dir(label) / "s.db";
  sessions::RecorderOptions options;
  options.store_scores = false;
  sessions::SessionWriter writer(path, "test", options);
  test::SentRun sent = test::record_synthetic_run(writer, writer.add_model(deepseek_v3_model()), spec, "code");
  writer.flush();
  return {path, std::move(sent)};
}

std::string reader_error(const fs::path& db, int64_t run) {
  try {
    sessions::SessionReader reader(db);
    reader.offload(run);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(OffloadRecording, Case1_EveryEventOfADeepSeekV3ShapedRunReadsBackExactly) {
  const auto [db, sent] = record("offload-v3-shape", deepseek_v3_spec());
  ASSERT_EQ(sent.offload.size(), 58u * 13u);  // every MoE layer in the prefill and 12 decode steps
  sessions::SessionReader reader(db);
  const std::vector<OffloadEvent> stored = reader.offload(1);
  ASSERT_EQ(stored.size(), sent.offload.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    const OffloadEvent& a = stored[i];
    const OffloadEvent& b = sent.offload[i];  // sent in (step, layer) order, the reader's order
    ASSERT_EQ(std::tie(a.step, a.layer, a.lookups, a.hits, a.prefetched, a.prefetch_hits, a.bytes_copied),
              std::tie(b.step, b.layer, b.lookups, b.hits, b.prefetched, b.prefetch_hits, b.bytes_copied))
        << "row " << i;
    EXPECT_EQ(a.copy_start_us, b.copy_start_us);
    EXPECT_EQ(a.copy_us, b.copy_us);
    EXPECT_EQ(a.stall_start_us, b.stall_start_us);
    EXPECT_EQ(a.stall_us, b.stall_us);
  }
  // The prefill's 6 tokens x top-8 name more distinct experts than 32 slots hold in some layer,
  // and decode steps hit: the counters are not trivially all-miss or all-hit.
  const analysis::OffloadProfile profile = analysis::summarise_offload(stored);
  ASSERT_EQ(profile.layers.size(), 58u);
  EXPECT_EQ(profile.layers.front().layer, 3);
  EXPECT_EQ(profile.layers.back().layer, 60);
  EXPECT_GT(profile.run.hits, 0);
  EXPECT_GT(profile.run.misses(), 0);
  EXPECT_EQ(profile.run.bytes_copied, (profile.run.misses() + profile.run.prefetched) * (int64_t{44} << 20));
  EXPECT_GT(profile.run.prefetch_hits, 0);
  EXPECT_EQ(profile.run.steps, 58 * 13);
  for (const analysis::OffloadTotals& layer : profile.layers) EXPECT_EQ(layer.steps, 13);
}

TEST(OffloadRecording, Case2_ARunThatKeptItsExpertsOnTheGpuHasNoRows) {
  test::SyntheticSpec spec = short_v3_spec();
  spec.offload_slots = 0;
  const auto [db, sent] = record("offload-none", spec);
  sessions::SessionReader reader(db);
  EXPECT_TRUE(reader.offload(1).empty());
  EXPECT_TRUE(analysis::summarise_offload(reader.offload(1)).empty());
}

TEST(OffloadRecording, Case3_AVersion3FileFromTheOldDdlUpgradesToAFreshFilesSchemaWithItsRunsIntact) {
  ASSERT_EQ(sessions::kSchemaVersion, 4);
  const fs::path dir = test::scratch_dir("offload-v3-file");
  const fs::path fresh = dir / "fresh.db";
  sessions::open_session(fresh, sessions::OpenMode::write);
  // A version-3 file made with versions 1-3's own DDL, holding a run recorded by the current build
  // (no offload rows: version 3 had nowhere to put them).
  test::SyntheticSpec spec = short_v3_spec();
  spec.offload_slots = 0;
  const auto [current, sent] = record("offload-v3-source", spec);
  const fs::path old = dir / "v3.db";
  std::string sql;
  for (const sessions::Migration& m : sessions::migrations())
    if (m.to_version <= 3) sql += std::string(m.sql);
  sql += "PRAGMA application_id = " + std::to_string(sessions::kApplicationId) + "; PRAGMA user_version = 3;";
  sql += "ATTACH '" + current.string() + "' AS src;";
  for (const auto& table : sessions::expected_tables()) {
    if (table.name == "offload_steps") continue;
    sql += "INSERT INTO main." + std::string(table.name) + " SELECT * FROM src." + std::string(table.name) + ";";
  }
  test::raw_exec(old, sql + "DETACH src;");
  ASSERT_EQ(test::schema_of(old).find("offload_steps"), std::string::npos);

  sessions::SessionReader upgraded(old);  // opening upgrades in place
  EXPECT_EQ(upgraded.connection().query_int("PRAGMA user_version"), 4);
  EXPECT_EQ(test::schema_of(old), test::schema_of(fresh));
  sessions::SessionReader expected(current);
  EXPECT_EQ(upgraded.routing(1).topk_ids, expected.routing(1).topk_ids);
  EXPECT_TRUE(upgraded.offload(1).empty());
  // The upgraded file takes offloaded runs.
  {
    sessions::SessionWriter writer(old, "test");
    spec.offload_slots = 32;
    test::record_synthetic_run(writer, writer.add_model(deepseek_v3_model()), spec, "code");
    writer.flush();
  }
  sessions::SessionReader after(old);
  EXPECT_EQ(after.offload(2).size(), 8u * 3u);
}

// An observer-level event the recorder must refuse: the run fails with one line naming the step
// and layer instead of storing a row every reader would refuse.
std::string recording_error(const OffloadEvent& event) {
  const fs::path path = test::scratch_dir("offload-bad-event") / "s.db";
  sessions::SessionWriter writer(path, "test");
  test::SyntheticSpec spec;  // layers 1, 2, 4; 8 experts
  writer.begin_run(test::synthetic_run_info(spec, writer.add_model(test::synthetic_model()), "code"));
  writer.observer().on_step_begin({0, 0, 1});
  writer.observer().on_offload(event);
  writer.observer().on_step_end({0, 0, 1}, {});
  try {
    writer.flush();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(OffloadRecording, Case4_AFaultyEventFailsTheRecordingWithOneLine) {
  OffloadEvent more_hits{.step = 0, .layer = 2, .lookups = 2, .hits = 3};
  std::string error = recording_error(more_hits);
  EXPECT_NE(error.find("offload event of step 0, layer 2: needs 0 <= hits <= lookups <= n_experts 8, got 3 hits of 2"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  error = recording_error({.step = 0, .layer = 3, .lookups = 1, .hits = 0});
  EXPECT_NE(error.find("layer 3: not one of the model's MoE layers"), std::string::npos) << error;
  error = recording_error({.step = 0, .layer = 1, .lookups = 2, .hits = 1, .prefetched = 0, .prefetch_hits = 1});
  EXPECT_NE(error.find("needs 0 <= prefetch_hits <= hits and prefetched"), std::string::npos) << error;
  error = recording_error({.step = 0, .layer = 1, .lookups = 1, .hits = 0, .copy_us = -1.0});
  EXPECT_NE(error.find("copy and stall times must be finite and >= 0"), std::string::npos) << error;
}

TEST(OffloadRecording, Case5_AHostileStoredRowIsRefusedWithOneLine) {
  const auto [db, sent] = record("offload-hostile", short_v3_spec());
  const std::string key = " WHERE run_id = 1 AND step = 1 AND layer = 10";
  test::raw_exec(db, "UPDATE offload_steps SET hits = lookups + 1" + key);
  std::string error = reader_error(db, 1);
  EXPECT_NE(error.find("run 1 has an offload_steps row at step 1, layer 10 with more hits"), std::string::npos)
      << error;
  test::raw_exec(db, "UPDATE offload_steps SET hits = 0, lookups = 300" + key);
  error = reader_error(db, 1);
  EXPECT_NE(error.find("table offload_steps: lookups 300 at step 1, layer 10 is outside 0..256 (n_experts 256)"),
            std::string::npos)
      << error;
  test::raw_exec(db, "UPDATE offload_steps SET lookups = 1, layer = 2" + key);
  error = reader_error(db, 1);
  EXPECT_NE(error.find("table offload_steps: layer 2"), std::string::npos) << error;
  test::raw_exec(db, "UPDATE offload_steps SET layer = 10, copy_us = 'x' WHERE run_id = 1 AND step = 1 AND layer = 2");
  error = reader_error(db, 1);
  EXPECT_NE(error.find("table offload_steps: copy_us 'x' at step 1, layer 10 is not a number"), std::string::npos)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(OffloadRecording, Case6_ExportsCarryTheRows) {
  const auto [db, sent] = record("offload-export", short_v3_spec());
  const fs::path out = test::scratch_dir("offload-export-out");

  sessions::export_session(db, sessions::ExportFormat::csv, out / "csv");
  std::ifstream csv(out / "csv" / "offload.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header,
            "run_id,step,layer,lookups,hits,misses,prefetched,prefetch_hits,bytes_copied,copy_start_us,copy_us,"
            "stall_start_us,stall_us\r");
  size_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, sent.offload.size());

  sessions::export_session(db, sessions::ExportFormat::json, out / "s.json");
  std::ifstream json_file(out / "s.json");
  const nlohmann::json document = nlohmann::json::parse(json_file);
  EXPECT_EQ(document["schema_version"], 4);
  const auto& rows = document["runs"][0]["offload"];
  ASSERT_EQ(rows.size(), sent.offload.size());
  EXPECT_EQ(rows[5]["hits"], sent.offload[5].hits);
  EXPECT_EQ(rows[5]["bytes_copied"], sent.offload[5].bytes_copied);

  sessions::export_session(db, sessions::ExportFormat::chrome_trace, out / "trace.json");
  std::ifstream trace_file(out / "trace.json");
  const nlohmann::json trace = nlohmann::json::parse(trace_file);
  size_t copies = 0, stalls = 0, expected_copies = 0;
  for (const OffloadEvent& e : sent.offload) expected_copies += e.copy_us > 0;
  for (const auto& event : trace["traceEvents"]) {
    if (event.value("cat", "") != "offload") continue;
    (event["tid"] == 1001 ? copies : stalls) += 1;
  }
  EXPECT_GT(expected_copies, 0u);
  EXPECT_EQ(copies, expected_copies);
  EXPECT_EQ(stalls, expected_copies);  // every synthetic copy stalls its layer

  sessions::export_session(db, sessions::ExportFormat::sqlite, out / "copy.db", {.run_id = 1});
  sessions::SessionReader copy(out / "copy.db");
  EXPECT_EQ(copy.offload(1).size(), sent.offload.size());
}

}  // namespace
}  // namespace moescope
