// Focus: recording real engine runs. The golden checkpoints run on the CPU engine with the recorder
// and a capturing observer side by side; every routing row in the file must equal what the engine
// reported, softmax families' scores must sum to 1, hits must equal the counts of top-k ids, and
// the `moescope record` binary must survive kill -9 part way through a prompt set.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/engine_factory.h"
#include "core/generate.h"
#include "core/model.h"
#include "core/observer_fanout.h"
#include "sessions/float16.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "sessions/sql.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct CapturedLayer {
  int64_t first_position;
  int32_t n_tokens;
  std::vector<int32_t> ids;
  std::vector<float> weights;
  std::vector<float> scores;
};

// Keeps a copy of every routing event, keyed by layer, in arrival order.
struct CapturingObserver final : ForwardObserver {
  std::map<int32_t, std::vector<CapturedLayer>> layers;
  void on_routing(const RoutingEvent& e) override {
    layers[e.layer].push_back({e.first_position,
                               e.n_tokens,
                               {e.topk_ids.begin(), e.topk_ids.end()},
                               {e.topk_weights.begin(), e.topk_weights.end()},
                               {e.scores.begin(), e.scores.end()}});
  }
};

class GoldenRecording : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenRecording, Case1_StoredRoutingEqualsWhatTheEngineReported) {
  const std::string name = GetParam();
  auto dir = test::golden_model(name);
  if (!std::filesystem::exists(dir / "config.json")) GTEST_SKIP() << "golden model missing: " << dir;
  auto model = load_model(dir);
  EngineOptions options;
  options.n_threads = 2;
  auto engine = create_engine(*model, options);
  auto db = test::scratch_dir("golden-" + name) / "s.db";

  CapturingObserver captured;
  GenerationRequest request;
  for (int32_t i = 0; i < 24; ++i) request.prompt_ids.push_back(1 + (i * 37) % 500);
  request.max_new_tokens = 6;
  GenerationResult result;
  {
    sessions::SessionWriter writer(db, "test");
    sessions::RunInfo info =
        sessions::run_info_for(*engine, writer.add_model(sessions::describe_model(*model)));
    info.tag = "golden";
    writer.begin_run(info);
    ObserverFanout fanout;
    fanout.targets = {&writer.observer(), &captured};
    engine->set_observer(&fanout);
    result = generate(*engine, request);
    engine->set_observer(nullptr);
    std::vector<sessions::TokenRecord> tokens;
    for (const auto& t : result.tokens) tokens.push_back({t.position, t.id, "t", t.is_prompt, t.logprob, {}});
    writer.add_tokens(tokens);
    writer.end_run({});
    writer.flush();
  }

  sessions::SessionReader reader(db);
  auto arrays = reader.routing(1);
  const auto& config = model->config;
  ASSERT_EQ(arrays.layer_ids, config.moe_layers());
  ASSERT_EQ(arrays.n_experts, config.n_routed_experts);
  ASSERT_EQ(arrays.top_k, config.top_k);
  // Every forwarded position: the prompt and all generated tokens but the last (never fed back).
  ASSERT_EQ(arrays.n_tokens, static_cast<int32_t>(result.tokens.size()) - 1);
  ASSERT_TRUE(arrays.has_scores());

  int64_t rows = 0;
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    const auto& events = captured.layers.at(arrays.layer_ids[slot]);
    for (const CapturedLayer& event : events) {
      for (int32_t t = 0; t < event.n_tokens; ++t) {
        int32_t position = static_cast<int32_t>(event.first_position) + t;
        for (int32_t i = 0; i < arrays.top_k; ++i) {
          size_t at = arrays.topk_offset(slot, position) + i;
          size_t from = static_cast<size_t>(t) * arrays.top_k + i;
          ASSERT_EQ(arrays.topk_ids[at], event.ids[from])
              << "layer slot " << slot << " position " << position;
          ASSERT_EQ(arrays.topk_weights[at], event.weights[from]);
        }
        double sum = 0;
        for (int32_t e = 0; e < arrays.n_experts; ++e) {
          float stored = arrays.scores[arrays.score_offset(slot, position) + e];
          float sent = event.scores[static_cast<size_t>(t) * arrays.n_experts + e];
          ASSERT_EQ(stored, sessions::half_to_float(sessions::float_to_half(sent)));
          sum += sent;
        }
        if (config.scoring == ScoringFunc::softmax) {
          EXPECT_NEAR(sum, 1.0, 1e-5);
        }
        ++rows;
      }
    }
  }
  EXPECT_EQ(rows, static_cast<int64_t>(arrays.n_layers) * arrays.n_tokens);

  auto hits = reader.expert_hits(1);
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    std::vector<int64_t> counted(static_cast<size_t>(arrays.n_experts), 0);
    for (int32_t t = 0; t < arrays.n_tokens; ++t) {
      for (int32_t i = 0; i < arrays.top_k; ++i) ++counted[arrays.topk_ids[arrays.topk_offset(slot, t) + i]];
    }
    for (int32_t e = 0; e < arrays.n_experts; ++e) {
      EXPECT_EQ(hits.hits[static_cast<size_t>(slot) * arrays.n_experts + e], counted[e]);
    }
  }
  auto tokens = reader.tokens(1);
  ASSERT_EQ(tokens.size(), result.tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(tokens[i].token_id, result.tokens[i].id);
  EXPECT_FALSE(reader.timings(1).empty());
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenRecording,
                         ::testing::Values("mixtral-tiny", "deepseek-v3-tiny", "deepseek-v2-lite-tiny",
                                           "qwen3-moe-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

int count_complete_runs(const std::filesystem::path& db) {
  try {
    sessions::Connection connection(db, SQLITE_OPEN_READONLY);
    return static_cast<int>(connection.query_int("SELECT count(*) FROM runs WHERE status = 'complete'"));
  } catch (const std::exception&) {
    return 0;  // not created yet
  }
}

TEST(GoldenRecordingCli, Case2_KillDuringMoescopeRecordKeepsCompletedRuns) {
  auto model = test::golden_model("mixtral-tiny");
  if (!std::filesystem::exists(model / "config.json")) GTEST_SKIP() << "golden model missing";
  ASSERT_TRUE(std::filesystem::exists(test::moescope_binary())) << test::moescope_binary();
  auto dir = test::scratch_dir("record-kill");
  auto prompts = dir / "prompts.jsonl";
  {
    std::ofstream out(prompts);
    for (int i = 0; i < 400; ++i)
      out << R"({"text": "def f(x):\n    return x * )" << i << R"(", "tag": "code"})"
          << "\n";
  }
  auto db = dir / "s.db";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::freopen("/dev/null", "w", stderr);
    ::execl(test::moescope_binary().c_str(), "moescope", "record", "--model", model.c_str(), "--prompts",
            prompts.c_str(), "--db", db.c_str(), "--max-new-tokens", "64", "--threads", "1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool exited = false;
  while (count_complete_runs(db) < 3 && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  ASSERT_TRUE(WIFSIGNALED(status)) << "moescope record ended before the kill (status " << status << ")";

  {
    sessions::Connection connection(db, SQLITE_OPEN_READONLY);
    EXPECT_EQ(connection.query_text("PRAGMA integrity_check"), "ok");
  }
  sessions::SessionReader reader(db);
  auto runs = reader.runs();
  ASSERT_GE(runs.size(), 3u);
  ASSERT_LT(runs.size(), 400u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, "complete");
    EXPECT_EQ(reader.routing(run.id).n_tokens, run.n_prompt_tokens + run.n_generated_tokens - 1);
  }
  // The next recording goes into the same file.
  std::ofstream(dir / "one.jsonl") << R"({"text": "after the crash", "tag": "prose"})"
                                   << "\n";
  auto next = test::run_command(test::moescope_binary().string() + " record --model " + model.string() +
                                " --prompts " + (dir / "one.jsonl").string() + " --db " + db.string() +
                                " --max-new-tokens 4");
  ASSERT_EQ(next.exit_code, 0) << next.output;
  sessions::SessionReader after(db);
  EXPECT_EQ(after.runs().size(), runs.size() + 1);
  EXPECT_EQ(after.runs().back().tag, "prose");
}

TEST(GoldenRecordingCli, Case3_BadPromptSetAndForeignDbAreOneLineErrors) {
  auto model = test::golden_model("mixtral-tiny");
  if (!std::filesystem::exists(model / "config.json")) GTEST_SKIP() << "golden model missing";
  auto dir = test::scratch_dir("record-bad");
  std::ofstream(dir / "bad.jsonl") << R"({"text": "ok", "tag": "code"})"
                                   << "\n"
                                   << R"({"tag": "code"})"
                                   << "\n";
  auto bad =
      test::run_command(test::moescope_binary().string() + " record --model " + model.string() +
                        " --prompts " + (dir / "bad.jsonl").string() + " --db " + (dir / "s.db").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.output, "moescope: error: " + (dir / "bad.jsonl").string() +
                            ":2: expected a non-empty string \"text\"\n");

  std::ofstream(dir / "foreign.db") << "not a database at all, just text that is long enough to be read";
  std::ofstream(dir / "ok.jsonl") << R"({"text": "ok", "tag": "code"})"
                                  << "\n";
  auto foreign = test::run_command(test::moescope_binary().string() + " record --model " + model.string() +
                                   " --prompts " + (dir / "ok.jsonl").string() + " --db " +
                                   (dir / "foreign.db").string());
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_EQ(foreign.output, "moescope: error: " + (dir / "foreign.db").string() +
                                ": not a moescope session file (not a SQLite database)\n");
}

TEST(GoldenRecordingCli, Case4_EnforcedCapacityRecordsDropsAndKlToDropless) {
  auto model = test::golden_model("qwen3-moe-tiny");
  if (!std::filesystem::exists(model / "config.json")) GTEST_SKIP() << "golden model missing";
  auto dir = test::scratch_dir("record-enforce");
  std::ofstream(dir / "p.jsonl")
      << R"({"text": "347 + 589 = 936\n1204 - 378 = 826\n23 * 17 =", "tag": "maths"})"
      << "\n";
  auto result = test::run_command(test::moescope_binary().string() + " record --model " + model.string() +
                                  " --prompts " + (dir / "p.jsonl").string() + " --db " +
                                  (dir / "s.db").string() + " --max-new-tokens 6 --enforce-capacity 1.0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  sessions::SessionReader reader(dir / "s.db");
  // Capacity 1.0 on a prefill with 16 experts, top-4 always overflows some expert somewhere.
  EXPECT_GT(reader.connection().query_int("SELECT count(*) FROM routing WHERE dropped_mask <> 0"), 0);
  auto tokens = reader.tokens(1);
  ASSERT_FALSE(tokens.empty());
  for (const auto& token : tokens) {
    ASSERT_TRUE(token.kl_to_dropless.has_value()) << "position " << token.position;
    EXPECT_GE(*token.kl_to_dropless, -1e-9);
  }
  EXPECT_NE(reader.run(1).settings_json.find("\"enforce_capacity_factor\":1.0"), std::string::npos);
}

}  // namespace
}  // namespace moescope
