// Focus: sessions of serving traffic (issue 21: 100,000 imported requests) in the GUI. The run
// list is one query over the runs table (no run is checked or parsed until it is opened, and a
// damaged run then gives its one-line error without closing the session), the sidebar's filter
// runs over the listed summaries, and the Compare view's per-tag loads come from SQL sums over
// expert_hits, equal to pooling the loaded runs' routing (the old path).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "core/analysis/divergence.h"
#include "sessions/session_file.h"
#include "tests/support/test_paths.h"
#include "tests/ui/session_fixture.h"
#include "ui/routing_views.h"
#include "ui/run_list.h"
#include "ui/session_file_source.h"

namespace moescope::ui {
namespace large_session_test {

SyntheticSpec small_spec(int32_t n_runs) {
  SyntheticSpec spec;
  spec.n_tokens = 96;
  spec.n_experts = 8;
  spec.n_layers = 3;
  spec.n_runs = n_runs;
  spec.ep_degree = 1;
  return spec;
}

// `n_copies` more runs cloned from run 1 in one INSERT ... SELECT each (runs row and expert hits,
// no routing: the listing and the SQL aggregate never read it), tagged "bulk-even" / "bulk-odd".
void add_bulk_runs(const std::filesystem::path& file, int64_t n_copies) {
  sessions::Connection db = sessions::open_session(file, sessions::OpenMode::write);
  db.exec("BEGIN");
  db.exec("INSERT INTO prompts(text, tag) VALUES ('bulk prompt even', 'bulk-even'), ('bulk prompt odd', 'bulk-odd')");
  auto insert_runs = db.prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)"
      " INSERT INTO runs(id, session_id, model_id, prompt_id, status, backend, device, settings_json, moe_layers, n_experts,"
      " top_k, capacity_factors, started_at, n_prompt_tokens, n_generated_tokens)"
      " SELECT 1000 + i, r.session_id, r.model_id,"
      " (SELECT id FROM prompts WHERE tag = CASE i % 2 WHEN 0 THEN 'bulk-even' ELSE 'bulk-odd' END),"
      " 'complete', r.backend, r.device, r.settings_json, r.moe_layers, r.n_experts, r.top_k, r.capacity_factors,"
      " r.started_at, 4, i % 7 FROM n, runs r WHERE r.id = 1");
  insert_runs.bind(1, n_copies);
  insert_runs.step();
  // Each bulk run hits expert (run id mod n_experts) of every layer once per generated token.
  db.exec(
      "INSERT INTO expert_hits(run_id, layer, expert, hits, weight_sum)"
      " SELECT r.id, l.value, r.id % r.n_experts, r.n_generated_tokens + 1, 1.0 FROM runs r, json_each(r.moe_layers) l"
      " WHERE r.id > 1000");
  db.exec("COMMIT");
}

TEST(LargeSession, ListsManyRunsInOneQueryAndFiltersTheirSummaries) {
  const auto file = test::scratch_dir("large-session-list") / "session.db";
  test::write_synthetic_session(file, small_spec(4));
  const int64_t n_bulk = 20000;
  auto built = std::chrono::steady_clock::now();
  add_bulk_runs(file, n_bulk);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - built).count();

  const auto opened = std::chrono::steady_clock::now();
  SessionDoc doc(open_session_source(file));
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count();
  std::printf("%lld runs: built in %.3f s, opened (listed) in %.3f s\n", static_cast<long long>(n_bulk + 4), build_s, open_s);
  ASSERT_EQ(doc.runs().size(), static_cast<size_t>(n_bulk + 4));
  EXPECT_EQ(doc.runs()[4].id, 1001);
  EXPECT_EQ(doc.runs()[4].tag, "bulk-odd");
  EXPECT_EQ(doc.runs()[4].n_tokens, 4 + 1);  // 4 prompt + (i % 7) generated, i = 1
  EXPECT_EQ(doc.tags(), (std::vector<std::string>{"bulk-even", "bulk-odd", "code", "math", "poetry", "prose"}));
  EXPECT_EQ(doc.model().n_experts, 8);  // the card, from the newest run alone

  RunListFilter list;
  EXPECT_EQ(list.rows(doc, "").size(), doc.runs().size());
  const auto& odd = list.rows(doc, "BULK-odd");
  EXPECT_EQ(odd.size(), static_cast<size_t>(n_bulk / 2));
  const auto& one = list.rows(doc, "#12346 even");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(doc.runs()[one[0]].id, 12346);
  EXPECT_TRUE(list.rows(doc, "#12346 odd").empty());
}

TEST(LargeSession, ADamagedRunFailsWhenOpenedWithOneLineAndTheOthersStillLoad) {
  const auto file = test::scratch_dir("large-session-damaged") / "session.db";
  test::write_synthetic_session(file, small_spec(3));
  {
    sessions::Connection db = sessions::open_session(file, sessions::OpenMode::write);
    db.exec("UPDATE runs SET moe_layers = 'not json' WHERE id = 2");
  }
  SessionDoc doc(open_session_source(file));  // listing checks nothing: the session opens
  ASSERT_EQ(doc.runs().size(), 3u);
  EXPECT_EQ(doc.run(2), nullptr);
  const std::string error = doc.load_error(2);
  EXPECT_NE(error.find("run 2"), std::string::npos) << error;
  EXPECT_NE(error.find("moe_layers"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(doc.run(1), nullptr);
  EXPECT_TRUE(doc.load_error(1).empty());
}

TEST(LargeSession, TagLoadsFromSqlEqualPoolingTheLoadedRuns) {
  const auto file = test::scratch_dir("large-session-tags") / "session.db";
  test::write_synthetic_session(file, small_spec(8));  // tags code, poetry, math, prose twice each
  SessionDoc doc(open_session_source(file));
  std::map<std::string, std::vector<std::vector<double>>> loaded_runs;
  for (const std::string tag : {"code", "poetry"}) {
    const auto loads = doc.tag_loads(tag, size_t{1} << 20);
    ASSERT_TRUE(loads.has_value());
    ASSERT_FALSE(loads->per_run_left_out);
    std::vector<double> pooled;
    std::vector<std::vector<double>> per_run;
    for (const auto& r : doc.runs()) {
      if (r.tag != tag || r.status != "complete") continue;
      const auto run = doc.run(r.id);
      ASSERT_NE(run, nullptr);
      const auto counts = summarize_routing(run->routing).expert_counts;
      pooled.resize(counts.size(), 0.0);
      for (size_t i = 0; i < counts.size(); ++i) pooled[i] += static_cast<double>(counts[i]);
      per_run.emplace_back(counts.begin(), counts.end());
      EXPECT_EQ(loads->layer_ids, run->routing.layer_ids);
    }
    ASSERT_EQ(per_run.size(), 2u) << tag;
    EXPECT_EQ(loads->counts, pooled) << tag;
    EXPECT_EQ(loads->per_run, per_run) << tag;
    loaded_runs[tag] = per_run;
  }
  // The view's statistics from either path: the same permutation test, value for value.
  const auto a = doc.tag_loads("code", size_t{1} << 20), b = doc.tag_loads("poetry", size_t{1} << 20);
  const auto sql = analysis::jsd_permutation_test(a->per_run, b->per_run, 3, 8, 200);
  const auto old = analysis::jsd_permutation_test(loaded_runs["code"], loaded_runs["poetry"], 3, 8, 200);
  EXPECT_GT(sql.observed, 0.0);
  EXPECT_EQ(sql.observed, old.observed);
  EXPECT_EQ(sql.observed_per_layer, old.observed_per_layer);
  EXPECT_EQ(sql.p_value, old.p_value);
  // Above the per-run budget the sums still come back, the per-run loads do not.
  const auto capped = doc.tag_loads("code", 10);
  ASSERT_TRUE(capped.has_value());
  EXPECT_TRUE(capped->per_run_left_out);
  EXPECT_TRUE(capped->per_run.empty());
  EXPECT_EQ(capped->counts, a->counts);
}

TEST(LargeSession, TagLoadsOfManyRunsAreSummedWithoutLoadingThem) {
  const auto file = test::scratch_dir("large-session-bulk-tags") / "session.db";
  test::write_synthetic_session(file, small_spec(1));
  const int64_t n_bulk = 20000;
  add_bulk_runs(file, n_bulk);
  SessionDoc doc(open_session_source(file));
  const auto started = std::chrono::steady_clock::now();
  const auto odd = doc.tag_loads("bulk-odd", size_t{1} << 20);
  std::printf("tag_loads over %lld runs: %.3f s\n", static_cast<long long>(n_bulk / 2),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  ASSERT_TRUE(odd.has_value());
  // Expected sums, worked out here: run i (odd) hits expert i % 8 of each layer (i % 7) + 1 times.
  std::vector<double> expected(3 * 8, 0.0);
  for (int64_t i = 1; i <= n_bulk; i += 2) {
    for (int l = 0; l < 3; ++l) expected[static_cast<size_t>(l * 8 + (1000 + i) % 8)] += static_cast<double>(i % 7 + 1);
  }
  EXPECT_EQ(odd->counts, expected);
  EXPECT_EQ(odd->per_run.size(), static_cast<size_t>(n_bulk / 2));
  // Run 1001 (i = 1): expert 1001 % 8 = 1 of layer slot 0, hit 1 % 7 + 1 = 2 times. The bulk runs
  // have no routing rows, so these counts can only come from expert_hits, not from loaded runs.
  EXPECT_EQ(odd->per_run.front()[1], 2.0);
}

}  // namespace large_session_test
}  // namespace moescope::ui
