// Focus: the offload profile of a CUDA run with offloaded experts reaches the session file. The
// counters recorded per step and MoE layer are exactly the OffloadEvents the engine reported (case
// 1), their copy and stall intervals lie inside their step (case 2), and `moescope run --backend cuda
// --offload-experts` records them and `report` prints them (case 3). Skipped without a GPU.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <span>

#include "core/analysis/offload_profile.h"
#include "core/engine.h"
#include "core/model.h"
#include "core/observer_fanout.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct OffloadEvents : ForwardObserver {
  std::vector<OffloadEvent> events;
  void on_offload(const OffloadEvent& e) override { events.push_back(e); }
};

EngineOptions offload_options(int32_t slots) {
  EngineOptions o;
  o.backend = Backend::cuda;
  o.max_context = 64;
  o.offload_experts = true;
  o.expert_cache_slots = slots;
  return o;
}

// A prefill of 24 tokens and one-token decode steps over the rest of the golden ids, recorded
// into `db` while `events` sees the same callbacks.
void record_offloaded_run(const std::string& model_name, int32_t slots, const std::filesystem::path& db,
                          OffloadEvents& events) {
  auto model = load_model(test::golden_model(model_name));
  const auto ids = test::open_golden(model_name).i32("generated_ids");
  auto engine = make_cuda_engine(*model, offload_options(slots));
  ASSERT_EQ(engine->info().expert_cache_slots, slots) << engine->info().weights;
  sessions::SessionWriter writer(db, "test");
  writer.begin_run(sessions::run_info_for(*engine, writer.add_model(sessions::describe_model(*model))));
  ObserverFanout fanout;
  fanout.targets = {&events, &writer.observer()};
  engine->set_observer(&fanout);
  std::vector<float> logits;
  engine->forward(std::span(ids).first(24), false, logits);
  for (size_t t = 24; t < ids.size(); ++t) engine->forward(std::span(ids).subspan(t, 1), false, logits);
  engine->set_observer(nullptr);
  std::vector<sessions::TokenRecord> tokens;
  for (size_t p = 0; p < ids.size(); ++p)
    tokens.push_back({.position = static_cast<int64_t>(p), .token_id = ids[p], .display_text = "t", .is_prompt = p < 24});
  writer.add_tokens(tokens);
  writer.end_run({});
  writer.flush();
}

class CudaOffloadProfile : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { MOESCOPE_REQUIRE_GPU(); }
};

// 1. One slot per layer (every decode step misses), so every counter is exercised.
TEST_P(CudaOffloadProfile, RecordedCountersAreTheEnginesOwn) {
  const auto db = test::scratch_dir("cuda-offload-profile") / "s.db";
  OffloadEvents engine_events;
  record_offloaded_run(GetParam(), 1, db, engine_events);
  ASSERT_FALSE(engine_events.events.empty());
  sessions::SessionReader reader(db);
  const std::vector<OffloadEvent> recorded = reader.offload(1);
  ASSERT_EQ(recorded.size(), engine_events.events.size());
  // The engine reports a step's layers in ascending order and steps in order: the reader's order.
  for (size_t i = 0; i < recorded.size(); ++i) {
    const OffloadEvent& a = recorded[i];
    const OffloadEvent& b = engine_events.events[i];
    EXPECT_EQ(std::tie(a.step, a.layer, a.lookups, a.hits, a.bytes_copied),
              std::tie(b.step, b.layer, b.lookups, b.hits, b.bytes_copied));
    EXPECT_EQ(a.copy_us, b.copy_us);
    EXPECT_EQ(a.stall_us, b.stall_us);
    EXPECT_EQ(a.copy_start_us, b.copy_start_us);
    EXPECT_EQ(a.stall_start_us, b.stall_start_us);
  }
  const auto recorded_totals = analysis::summarise_offload(recorded).run;
  const auto engine_totals = analysis::summarise_offload(engine_events.events).run;
  EXPECT_EQ(recorded_totals.lookups, engine_totals.lookups);
  EXPECT_EQ(recorded_totals.hits, engine_totals.hits);
  EXPECT_EQ(recorded_totals.bytes_copied, engine_totals.bytes_copied);
  EXPECT_GT(recorded_totals.bytes_copied, 0);
  EXPECT_GT(recorded_totals.copy_us, 0.0);
  std::printf("[ offload ] %-22s 1 slot recorded: %lld lookups, hit rate %.3f, %.1f MB, copy %.0f us, stall %.0f us\n",
              GetParam().c_str(), static_cast<long long>(recorded_totals.lookups), recorded_totals.hit_rate(),
              static_cast<double>(recorded_totals.bytes_copied) / 1e6, recorded_totals.copy_us,
              recorded_totals.stall_us);
}

// 2. Copy and stall intervals start after their step's start and end before the step's last phase.
TEST_P(CudaOffloadProfile, IntervalsLieInsideTheirStep) {
  const auto db = test::scratch_dir("cuda-offload-intervals") / "s.db";
  OffloadEvents engine_events;
  record_offloaded_run(GetParam(), 1, db, engine_events);
  sessions::SessionReader reader(db);
  std::map<int64_t, double> step_end;  // the latest phase end per step, on the engine's clock
  for (const sessions::TimingRow& t : reader.timings(1))
    step_end[t.step] = std::max(step_end[t.step], t.start_us + t.duration_us);
  int64_t copied = 0;
  for (const OffloadEvent& e : reader.offload(1)) {
    if (e.bytes_copied == 0) continue;
    ++copied;
    EXPECT_GT(e.copy_us, 0.0);
    EXPECT_GE(e.copy_start_us, 0.0);
    ASSERT_TRUE(step_end.contains(e.step)) << "step " << e.step << " has no phase timings";
    // 5 us of slack for event resolution.
    EXPECT_LE(e.copy_start_us + e.copy_us, step_end[e.step] + 5.0) << "step " << e.step << " layer " << e.layer;
    EXPECT_LE(e.stall_start_us + e.stall_us, step_end[e.step] + 5.0) << "step " << e.step << " layer " << e.layer;
  }
  EXPECT_GT(copied, 0);
}

INSTANTIATE_TEST_SUITE_P(AllModels, CudaOffloadProfile, ::testing::ValuesIn(test::kGoldenModels),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// 3. The CLI path: run records through its observer fan-out, report reads the profile back.
TEST(CudaOffloadProfileCli, RunRecordsAndReportPrintsThePerLayerProfile) {
  MOESCOPE_REQUIRE_GPU();
  const auto db = test::scratch_dir("cuda-offload-cli") / "s.db";
  const std::string bin = test::moescope_binary().string();
  const std::string model = test::golden_model("mixtral-tiny").string();
  const auto run = test::run_command(bin + " run --model " + model +
                                     " --prompt 'def f(x): return x' --max-new-tokens 6 --backend cuda"
                                     " --offload-experts --expert-cache-slots 1 --db " + db.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto report = test::run_command(bin + " report --db " + db.string() + " --run 1 --json 2>/dev/null");
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const auto json = nlohmann::json::parse(report.output);
  ASSERT_TRUE(json["offload"].is_object()) << report.output;
  sessions::SessionReader reader(db);
  EXPECT_EQ(json["offload"]["layers"].size(), reader.run(1).moe_layers.size());
  EXPECT_GT(json["offload"]["run"]["lookups"].get<int64_t>(), 0);
  const auto settings = nlohmann::json::parse(reader.run(1).settings_json);
  EXPECT_EQ(settings["expert_cache_slots"], 1);
  EXPECT_EQ(settings["offload_policy"], "lru");
  const auto text = test::run_command(bin + " report --db " + db.string() + " --run 1");
  EXPECT_NE(text.output.find("expert offloading per layer"), std::string::npos) << text.output;
}

}  // namespace
}  // namespace moescope
