// Focus: timing, not correctness (disabled by default; run explicitly, figures go to docs/perf.md):
//   build-ses/tests/moescope_sessions_tests --gtest_also_run_disabled_tests --gtest_filter='SessionsBench.*'
// 1. The writer's sustained rate: a 10,000-token, 27-layer, 64-expert, top-6 run (DeepSeek-V2-Lite's
//    routing shape) pushed through the observer as five 2,000-token steps; timed from begin_run to
//    the commit, so it includes the observer's copies, float16 encoding and every SQLite insert.
//    After one untimed warm-up run, three runs with scores and three without, and their medians.
// 2. The reader: that run back as dense arrays, with and without the score vectors.
// 3. Recording overhead on the CPU engine: the same generation on a golden model with and without
//    the recorder attached.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "core/engine_factory.h"
#include "core/generate.h"
#include "core/model.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The machine these figures come from is shared, so CPU time is printed beside wall time.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + now.tv_nsec / 1e9;
}

struct BigStep {
  std::vector<float> scores;   // (n_tokens, n_experts), shared by every layer
  std::vector<int32_t> ids;    // (n_tokens, top_k)
  std::vector<float> weights;  // (n_tokens, top_k)
};

BigStep make_step(int32_t n_tokens, int32_t n_experts, int32_t top_k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  BigStep step;
  step.scores.resize(static_cast<size_t>(n_tokens) * n_experts);
  for (float& s : step.scores) s = uniform(rng) / n_experts;
  for (int32_t t = 0; t < n_tokens; ++t) {
    int32_t first = static_cast<int32_t>(rng() % n_experts);
    for (int32_t i = 0; i < top_k; ++i) {
      step.ids.push_back((first + i * 7) % n_experts);
      step.weights.push_back(1.0f / top_k);
    }
  }
  return step;
}

struct BenchShape {
  int32_t n_tokens = 10000;
  int32_t n_layers = 27;
  int32_t n_experts = 64;
  int32_t top_k = 6;
  int32_t step_tokens = 2000;
};

double record_big_run(const std::filesystem::path& db, const BenchShape& shape, bool store_scores,
                      sessions::WriterStats& stats) {
  sessions::RecorderOptions options;
  options.store_scores = store_scores;
  sessions::SessionWriter writer(db, "bench", options);
  sessions::ModelInfo model;
  model.path = "/bench";
  model.model_type = "deepseek_v2";
  model.family = "deepseek_v2";
  model.config_json = "{}";
  int64_t model_id = writer.add_model(model);
  sessions::RunInfo info;
  info.model_id = model_id;
  info.backend = "cpu";
  info.device = "bench";
  for (int32_t l = 1; l <= shape.n_layers; ++l) info.moe_layers.push_back(l);
  info.n_experts = shape.n_experts;
  info.top_k = shape.top_k;
  BigStep data = make_step(shape.step_tokens, shape.n_experts, shape.top_k, 1);

  auto start = Clock::now();
  writer.begin_run(info);
  for (int32_t step = 0; step * shape.step_tokens < shape.n_tokens; ++step) {
    StepInfo step_info{step, static_cast<int64_t>(step) * shape.step_tokens, shape.step_tokens};
    writer.observer().on_step_begin(step_info);
    for (int32_t layer : info.moe_layers) {
      RoutingEvent event;
      event.step = step;
      event.layer = layer;
      event.first_position = step_info.first_position;
      event.n_tokens = shape.step_tokens;
      event.n_experts = shape.n_experts;
      event.top_k = shape.top_k;
      event.scores = data.scores;
      event.topk_ids = data.ids;
      event.topk_weights = data.weights;
      writer.observer().on_routing(event);
    }
    writer.observer().on_step_end(step_info, {});
  }
  writer.end_run({});
  writer.flush();
  double seconds = seconds_since(start);
  stats = writer.stats();
  return seconds;
}

TEST(SessionsBench, DISABLED_WriterSustainedRateAndReaderLoad) {
  BenchShape shape;
  // A sustained rate, not a cold start: one untimed run first pays for what the process does once
  // (SQLite's and the recorder's code paged in, the allocator's arenas grown), which otherwise
  // lands on whichever run comes first.
  {
    sessions::WriterStats ignored;
    record_big_run(test::scratch_dir("bench-warmup") / "bench.db", {.n_tokens = 2000}, true, ignored);
  }
  for (bool scores : {true, false}) {
    const char* what = scores ? "with float16 scores" : "top-k only";
    std::filesystem::path db;
    std::vector<double> rates;
    for (int run = 0; run < 3; ++run) {
      db = test::scratch_dir(std::string(scores ? "bench-scores-" : "bench-noscores-") + std::to_string(run)) /
           "bench.db";
      sessions::WriterStats stats;
      double seconds = record_big_run(db, shape, scores, stats);
      const double cpu_s = stats.writer_cpu_us / 1e6;
      rates.push_back(stats.routing_rows / cpu_s / 1e6);
      std::printf(
          "writer (%s): %lld routing rows (%lld top-k assignments) in %.3f s wall = %.2f M rows/s; writer "
          "thread CPU %.3f s = %.2f M rows/s (%.2f M assignments/s); engine waited %.3f s on a full queue; "
          "file %.1f MB\n",
          what, static_cast<long long>(stats.routing_rows), static_cast<long long>(stats.topk_rows), seconds,
          stats.routing_rows / seconds / 1e6, cpu_s, rates.back(), stats.topk_rows / cpu_s / 1e6,
          stats.engine_wait_us / 1e6, std::filesystem::file_size(db) / 1e6);
      EXPECT_EQ(stats.routing_rows, int64_t{shape.n_tokens} * shape.n_layers);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("writer (%s): median of 3 runs %.2f M routing rows/s of writer CPU\n", what, rates[1]);

    for (int repeat = 0; repeat < 3; ++repeat) {
      auto start = Clock::now();
      double cpu_start = process_cpu_seconds();
      sessions::SessionReader reader(db);
      double open_s = seconds_since(start);
      double open_cpu_s = process_cpu_seconds() - cpu_start;
      start = Clock::now();
      cpu_start = process_cpu_seconds();
      auto arrays = reader.routing(1, {.scores = scores, .router_logits = false});
      double load_s = seconds_since(start);
      double load_cpu_s = process_cpu_seconds() - cpu_start;
      std::printf(
          "reader (%s): open (quick_check of the whole file) %.3f s wall, %.3f s CPU; %d tokens x %d layers "
          "x "
          "%d experts as dense arrays in %.3f s wall, %.3f s CPU\n",
          scores ? "with scores" : "top-k only", open_s, open_cpu_s, arrays.n_tokens, arrays.n_layers,
          arrays.n_experts, load_s, load_cpu_s);
      EXPECT_EQ(arrays.n_tokens, shape.n_tokens);
    }
  }
}

TEST(SessionsBench, DISABLED_RecordingOverheadOnTheCpuEngine) {
  for (const char* name : {"mixtral-tiny", "deepseek-v3-tiny"}) {
    auto dir = test::golden_model(name);
    auto model = load_model(dir);
    EngineOptions options;
    options.n_threads = 1;
    auto engine = create_engine(*model, options);
    GenerationRequest request;
    for (int32_t i = 0; i < 200; ++i) request.prompt_ids.push_back(1 + (i * 37) % 500);
    request.max_new_tokens = 100;
    auto db = test::scratch_dir(std::string("overhead-") + name) / "s.db";
    sessions::SessionWriter writer(db, "bench");
    int64_t model_id = writer.add_model(sessions::describe_model(*model));
    double plain_best = 1e9;
    double recorded_best = 1e9;
    for (int repeat = 0; repeat < 5; ++repeat) {
      auto start = Clock::now();
      generate(*engine, request);
      plain_best = std::min(plain_best, seconds_since(start));

      start = Clock::now();
      writer.begin_run(sessions::run_info_for(*engine, model_id));
      engine->set_observer(&writer.observer());
      generate(*engine, request);
      engine->set_observer(nullptr);
      writer.end_run({});
      recorded_best = std::min(recorded_best, seconds_since(start));
      writer.flush();
    }
    std::printf(
        "%s, 200-token prompt + 100 decode steps, 1 thread, best of 5: %.1f ms plain, %.1f ms recorded "
        "(%+.1f%%; the commit itself runs on the writer thread after end_run)\n",
        name, plain_best * 1e3, recorded_best * 1e3, 100.0 * (recorded_best / plain_best - 1.0));
  }
}

}  // namespace
}  // namespace moescope
