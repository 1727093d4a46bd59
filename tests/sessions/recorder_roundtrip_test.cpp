// Focus: what the recorder writes is what the reader returns. Synthetic observer events go through
// SessionWriter (background thread, one transaction per run); the reader's dense arrays, tokens,
// hits, overflow, timings and all-to-all tables must match what was sent.
#include <gtest/gtest.h>

#include <map>

#include "core/analysis/capacity.h"
#include "sessions/float16.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using sessions::SessionReader;
using sessions::SessionWriter;

float through_f16(float value) { return sessions::half_to_float(sessions::float_to_half(value)); }

// Routing rows of `sent` reorganised by (layer slot, position) for comparison.
struct Expected {
  std::map<std::pair<int32_t, int64_t>, std::pair<const test::SentRouting*, int32_t>> rows;
};

Expected index_sent(const test::SentRun& sent) {
  Expected expected;
  for (const auto& r : sent.routing) {
    for (int32_t t = 0; t < r.n_tokens; ++t) expected.rows[{r.layer, r.first_position + t}] = {&r, t};
  }
  return expected;
}

TEST(RecorderRoundTrip, Case1_ReaderReturnsExactlyWhatWasWritten) {
  auto path = test::scratch_dir("roundtrip") / "s.db";
  sessions::RecorderOptions options;
  options.store_router_logits = true;
  test::SentRun sent;
  int64_t run_id = 0;
  {
    SessionWriter writer(path, "test", options);
    int64_t model_id = writer.add_model(test::synthetic_model());
    sent = test::record_synthetic_run(writer, model_id, {});
    writer.flush();
    run_id = 1;
  }
  SessionReader reader(path);
  auto arrays = reader.routing(run_id, {.scores = true, .router_logits = true});
  const auto& spec = sent.spec;
  ASSERT_EQ(arrays.n_layers, 3);
  ASSERT_EQ(arrays.n_tokens, spec.prompt_tokens + spec.decode_steps);
  ASSERT_EQ(arrays.n_experts, spec.n_experts);
  ASSERT_EQ(arrays.top_k, spec.top_k);
  EXPECT_EQ(arrays.layer_ids, spec.moe_layers);
  ASSERT_TRUE(arrays.has_scores());
  ASSERT_TRUE(arrays.has_router_logits());
  Expected expected = index_sent(sent);
  int64_t compared = 0;
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    for (int32_t t = 0; t < arrays.n_tokens; ++t) {
      auto [r, row] = expected.rows.at({arrays.layer_ids[slot], t});
      EXPECT_EQ(arrays.step_of_token[t], r->step);
      for (int32_t i = 0; i < spec.top_k; ++i) {
        size_t at = arrays.topk_offset(slot, t) + i;
        size_t from = static_cast<size_t>(row) * spec.top_k + i;
        ASSERT_EQ(arrays.topk_ids[at], r->ids[from]);
        ASSERT_EQ(arrays.topk_weights[at], r->weights[from]);  // stored as REAL: exact
        ++compared;
      }
      for (int32_t e = 0; e < spec.n_experts; ++e) {
        size_t at = arrays.score_offset(slot, t) + e;
        size_t from = static_cast<size_t>(row) * spec.n_experts + e;
        ASSERT_EQ(arrays.scores[at], through_f16(r->scores[from]));  // float16 BLOB: exact after rounding
        ASSERT_EQ(arrays.router_logits[at], through_f16(r->logits[from]));
      }
    }
  }
  EXPECT_EQ(compared, int64_t{3} * arrays.n_tokens * spec.top_k);

  auto tokens = reader.tokens(run_id);
  ASSERT_EQ(tokens.size(), sent.tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(tokens[i].position, sent.tokens[i].position);
    EXPECT_EQ(tokens[i].token_id, sent.tokens[i].token_id);
    EXPECT_EQ(tokens[i].display_text, sent.tokens[i].display_text);
    EXPECT_EQ(tokens[i].is_prompt, sent.tokens[i].is_prompt);
    EXPECT_EQ(tokens[i].logprob, sent.tokens[i].logprob);
    EXPECT_EQ(arrays.token_ids[i], sent.tokens[i].token_id);
  }

  auto steps = reader.steps(run_id);
  ASSERT_EQ(steps.size(), static_cast<size_t>(1 + spec.decode_steps));
  EXPECT_EQ(steps[0].n_tokens, spec.prompt_tokens);
  EXPECT_EQ(steps[1].first_position, spec.prompt_tokens);
  EXPECT_EQ(static_cast<int64_t>(reader.timings(run_id).size()), sent.n_timings);

  auto exchanges = reader.all_to_all(run_id);
  ASSERT_EQ(exchanges.size(), static_cast<size_t>(3 * (1 + spec.decode_steps)));
  int64_t tokens_total = 0;
  for (const auto& exchange : exchanges) {
    EXPECT_EQ(exchange.n_ranks, 2);
    EXPECT_EQ(exchange.modeled_us, 3.5);
    for (int64_t value : exchange.tokens) tokens_total += value;
  }
  EXPECT_EQ(tokens_total, sent.a2a_tokens_total);
  // Every dispatched assignment appears once in the traffic matrices.
  EXPECT_EQ(tokens_total, int64_t{3} * arrays.n_tokens * spec.top_k);

  auto run = reader.run(run_id);
  EXPECT_EQ(run.status, "complete");
  EXPECT_EQ(run.tag, "code");
  EXPECT_EQ(run.backend, "cpu");
  EXPECT_EQ(run.n_prompt_tokens, spec.prompt_tokens);
  EXPECT_EQ(run.n_generated_tokens, spec.decode_steps);
  EXPECT_EQ(run.capacity_factors, (std::vector<double>{1.0, 1.25, 1.5, 2.0}));
  EXPECT_GT(run.total_us, 0.0);
}

TEST(RecorderRoundTrip, Case2_ScoresOfSoftmaxRoutersSumToOne) {
  auto path = test::scratch_dir("softmax") / "s.db";
  {
    SessionWriter writer(path, "test");
    test::record_synthetic_run(writer, writer.add_model(test::synthetic_model()),
                               {.n_experts = 64, .top_k = 6});
  }
  auto arrays = SessionReader(path).routing(1);
  ASSERT_TRUE(arrays.has_scores());
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    for (int32_t t = 0; t < arrays.n_tokens; ++t) {
      double sum = 0;
      for (int32_t e = 0; e < arrays.n_experts; ++e) sum += arrays.scores[arrays.score_offset(slot, t) + e];
      ASSERT_NEAR(sum, 1.0, 64 * 4.9e-4);  // float16 rounding of each of 64 values in [0, 1]
    }
  }
}

TEST(RecorderRoundTrip, Case3_HitsEqualCountsOfTopkIds) {
  auto path = test::scratch_dir("hits") / "s.db";
  {
    SessionWriter writer(path, "test");
    test::record_synthetic_run(writer, writer.add_model(test::synthetic_model()), {.seed = 7});
  }
  SessionReader reader(path);
  auto arrays = reader.routing(1);
  auto hits = reader.expert_hits(1);
  ASSERT_EQ(hits.layer_ids, arrays.layer_ids);
  int64_t total = 0;
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    std::vector<int64_t> counted(static_cast<size_t>(arrays.n_experts), 0);
    std::vector<double> weights(counted.size(), 0.0);
    for (int32_t t = 0; t < arrays.n_tokens; ++t) {
      for (int32_t i = 0; i < arrays.top_k; ++i) {
        ++counted[arrays.topk_ids[arrays.topk_offset(slot, t) + i]];
        weights[arrays.topk_ids[arrays.topk_offset(slot, t) + i]] +=
            arrays.topk_weights[arrays.topk_offset(slot, t) + i];
      }
    }
    for (int32_t e = 0; e < arrays.n_experts; ++e) {
      size_t i = static_cast<size_t>(slot) * arrays.n_experts + e;
      EXPECT_EQ(hits.hits[i], counted[e]) << "layer " << arrays.layer_ids[slot] << " expert " << e;
      EXPECT_NEAR(hits.weight_sum[i], weights[e], 1e-9);
      total += hits.hits[i];
    }
  }
  EXPECT_EQ(total, int64_t{arrays.n_layers} * arrays.n_tokens * arrays.top_k);
  // The same numbers straight from SQL over the queryable top-k columns.
  auto query = reader.connection().prepare(
      "SELECT h.hits, (SELECT count(*) FROM routing r WHERE r.run_id = h.run_id AND r.layer = h.layer"
      " AND h.expert IN (r.expert_0, r.expert_1, r.expert_2, r.expert_3, r.expert_4, r.expert_5, r.expert_6,"
      " r.expert_7)) FROM expert_hits h WHERE h.run_id = 1");
  int rows = 0;
  while (query.step()) {
    EXPECT_EQ(query.column_int(0), query.column_int(1));
    ++rows;
  }
  EXPECT_EQ(rows, 3 * 8);
}

// A hand-computed case: 4 experts, top-2, one layer. Prefill of 4 tokens routes
// t0:(0,1) t1:(0,2) t2:(0,1) t3:(3,0), so expert 0 takes 4 assignments, 1 takes 2, 2 and 3 one each.
// Capacity ceil(C*4*2/4): C=1 -> 2, C=1.25 -> 3, C=1.5 -> 3, C=2 -> 4. A decode step t4:(0,1) has
// capacity ceil(C*1*2/4) = 1 for every C here, so it overflows nothing.
TEST(RecorderRoundTrip, Case4_CapacityOverflowMatchesHandComputedCase) {
  auto path = test::scratch_dir("overflow") / "s.db";
  {
    SessionWriter writer(path, "test");
    int64_t model_id = writer.add_model(test::synthetic_model());
    sessions::RunInfo info =
        test::synthetic_run_info({.moe_layers = {0}, .n_experts = 4, .top_k = 2}, model_id, "x");
    writer.begin_run(info);
    auto send = [&](int64_t step, int64_t first, std::vector<int32_t> ids) {
      int32_t n = static_cast<int32_t>(ids.size() / 2);
      std::vector<float> weights(ids.size(), 0.5f);
      StepInfo step_info{step, first, n};
      writer.observer().on_step_begin(step_info);
      RoutingEvent event;
      event.step = step;
      event.layer = 0;
      event.first_position = first;
      event.n_tokens = n;
      event.n_experts = 4;
      event.top_k = 2;
      event.topk_ids = ids;
      event.topk_weights = weights;
      writer.observer().on_routing(event);
      writer.observer().on_step_end(step_info, {});
    };
    send(0, 0, {0, 1, 0, 2, 0, 1, 3, 0});
    send(1, 4, {0, 1});
    writer.end_run({});
  }
  SessionReader reader(path);
  auto table = reader.capacity_overflow(1);
  ASSERT_EQ(table.capacity_factors, (std::vector<double>{1.0, 1.25, 1.5, 2.0}));
  auto at = [&](size_t factor, int32_t expert) { return factor * 4 + static_cast<size_t>(expert); };
  const int64_t expected_overflow[4][4] = {{2, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}};
  const int64_t expected_capacity[4] = {2 + 1, 3 + 1, 3 + 1, 4 + 1};
  const int64_t expected_assigned[4] = {5, 3, 1, 1};
  for (size_t f = 0; f < 4; ++f) {
    for (int32_t e = 0; e < 4; ++e) {
      EXPECT_EQ(table.overflow[at(f, e)], expected_overflow[f][e]) << "factor " << f << " expert " << e;
      EXPECT_EQ(table.capacity[at(f, e)], expected_capacity[f]);
      EXPECT_EQ(table.assigned[at(f, e)], expected_assigned[e]);
    }
  }
  // Recomputing from the stored routing with the analysis code agrees with the stored table.
  auto arrays = reader.routing(1);
  EXPECT_FALSE(arrays.has_scores());  // none were sent
  for (size_t f = 0; f < 4; ++f) {
    auto simulated = analysis::simulate_capacity(arrays, table.capacity_factors[f]);
    for (int32_t e = 0; e < 4; ++e)
      EXPECT_EQ(simulated.overflow[static_cast<size_t>(e)], table.overflow[at(f, e)]);
  }
}

TEST(RecorderRoundTrip, Case5_SeveralRunsFailedRunsAndTags) {
  auto path = test::scratch_dir("runs") / "s.db";
  {
    SessionWriter writer(path, "test");
    int64_t model_id = writer.add_model(test::synthetic_model());
    EXPECT_EQ(writer.add_model(test::synthetic_model()), model_id);  // stored once
    test::record_synthetic_run(writer, model_id, {.seed = 1}, "code");
    test::record_synthetic_run(writer, model_id, {.seed = 2}, "poetry");
    test::record_synthetic_run(writer, model_id, {.seed = 3}, "code");
    writer.begin_run(test::synthetic_run_info({}, model_id, "math"));
    writer.end_run({sessions::RunStatus::failed, "prompt longer than max_position_embeddings"});
    writer.flush();
  }
  SessionReader reader(path);
  auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[3].status, "failed");
  EXPECT_EQ(runs[3].error, "prompt longer than max_position_embeddings");
  EXPECT_EQ(reader.runs_with_tag("code"), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(reader.runs_with_tag("poetry"), (std::vector<int64_t>{2}));
  EXPECT_TRUE(reader.runs_with_tag("math").empty());  // failed runs are not analysed
  EXPECT_EQ(reader.connection().query_int("SELECT count(*) FROM models"), 1);
  EXPECT_EQ(reader.connection().query_int("SELECT count(*) FROM prompts"), 3);
}

TEST(RecorderRoundTrip, Case6_RunNeverEndedIsDropped) {
  auto path = test::scratch_dir("dropped") / "s.db";
  {
    SessionWriter writer(path, "test");
    int64_t model_id = writer.add_model(test::synthetic_model());
    test::record_synthetic_run(writer, model_id, {});
    test::SentRun sent;
    std::mt19937_64 rng(5);
    sent.spec = {};
    writer.begin_run(test::synthetic_run_info({}, model_id, "x"));
    test::send_step(writer.observer(), sent, rng, 0, 0, 4);
  }  // destroyed mid-run
  SessionReader reader(path);
  auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_EQ(reader.connection().query_int("SELECT count(*) FROM routing WHERE run_id <> 1"), 0);
}

TEST(RecorderRoundTrip, Case7_TinyQueueStillRecordsEverything) {
  auto path = test::scratch_dir("tinyqueue") / "s.db";
  sessions::RecorderOptions options;
  options.queue_capacity_bytes = 1;  // every step waits for the previous one to be written
  sessions::WriterStats stats;
  {
    SessionWriter writer(path, "test", options);
    test::record_synthetic_run(writer, writer.add_model(test::synthetic_model()), {.decode_steps = 40});
    writer.flush();
    stats = writer.stats();
  }
  EXPECT_EQ(stats.steps, 41);
  EXPECT_EQ(stats.routing_rows, 3 * (12 + 40));
  EXPECT_EQ(stats.topk_rows, 3 * (12 + 40) * 2);
  EXPECT_EQ(SessionReader(path).routing(1).n_tokens, 52);
}

TEST(RecorderRoundTrip, Case8_ReaderSeesCommittedRunsWhileAnotherRunIsBeingWritten) {
  auto path = test::scratch_dir("concurrent") / "s.db";
  SessionWriter writer(path, "test");
  int64_t model_id = writer.add_model(test::synthetic_model());
  test::record_synthetic_run(writer, model_id, {});
  writer.flush();
  writer.begin_run(test::synthetic_run_info({}, model_id, "open"));  // holds the write transaction
  test::SentRun sent;
  sent.spec = {};
  std::mt19937_64 rng(9);
  test::send_step(writer.observer(), sent, rng, 0, 0, 8);
  writer.flush();
  SessionReader reader(path);  // no "database is locked": WAL readers never wait for the writer
  auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(reader.routing(1).n_tokens, 17);
  writer.end_run({});
  writer.flush();
  EXPECT_EQ(SessionReader(path).runs().size(), 2u);
}

TEST(RecorderRoundTrip, Case9_ObserverOutsideARunIsAProgrammingError) {
  auto path = test::scratch_dir("outside") / "s.db";
  SessionWriter writer(path, "test");
  EXPECT_THROW(writer.observer().on_step_begin(StepInfo{}), std::logic_error);
  EXPECT_THROW(writer.end_run({}), std::logic_error);
}

}  // namespace
}  // namespace moescope
