// Focus: expert_hits holds only the experts that were hit (issue 21), and that means the same as the
// full grid earlier writers stored: the reader, the tag aggregate and the JSON and CSV exports give
// identical results for a new file and the same file with the zero rows an old writer wrote.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// 64 experts, top-2, 6 tokens: at most 12 of a layer's 64 experts are hit.
test::SyntheticSpec sparse_spec(uint64_t seed) {
  return {.moe_layers = {1, 2, 4}, .n_experts = 64, .top_k = 2, .prompt_tokens = 4, .decode_steps = 2,
          .ep_ranks = 0, .seed = seed};
}

fs::path sparse_session(const std::string& label) {
  const fs::path db = test::scratch_dir(label) / "s.db";
  sessions::SessionWriter writer(db, "test");
  const int64_t model_id = writer.add_model(test::synthetic_model());
  test::record_synthetic_run(writer, model_id, sparse_spec(1), "code");
  test::record_synthetic_run(writer, model_id, sparse_spec(2), "code");
  writer.flush();
  return db;
}

// What a writer before issue 21 stored beside the hit cells: a zero row for every other cell.
void add_old_writer_zero_rows(const fs::path& db) {
  sessions::Connection connection(db, SQLITE_OPEN_READWRITE);
  connection.exec(
      "WITH RECURSIVE e(run_id, expert, n) AS (SELECT id, 0, n_experts FROM runs"
      " UNION ALL SELECT run_id, expert + 1, n FROM e WHERE expert + 1 < n)"
      " INSERT OR IGNORE INTO expert_hits(run_id, layer, expert, hits, weight_sum)"
      " SELECT e.run_id, l.value, e.expert, 0, 0.0 FROM e JOIN runs r ON r.id = e.run_id, json_each(r.moe_layers) l");
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SparseExpertHits, Case1_OnlyHitExpertsAreStoredAndTheReaderFillsTheRestWithZero) {
  const fs::path db = sparse_session("sparse-hits-1");
  sessions::Connection connection(db, SQLITE_OPEN_READONLY);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM expert_hits WHERE hits <= 0"), 0);
  sessions::SessionReader reader(db);
  for (int64_t run_id : {int64_t{1}, int64_t{2}}) {
    const auto routing = reader.routing(run_id);
    const auto hits = reader.expert_hits(run_id);
    ASSERT_EQ(hits.hits.size(), size_t{3 * 64});
    std::vector<int64_t> counted(hits.hits.size(), 0);
    for (int32_t slot = 0; slot < routing.n_layers; ++slot)
      for (int32_t t = 0; t < routing.n_tokens; ++t)
        for (int32_t i = 0; i < routing.top_k; ++i)
          ++counted[static_cast<size_t>(slot) * 64 + routing.topk_ids[routing.topk_offset(slot, t) + i]];
    EXPECT_EQ(hits.hits, counted) << "run " << run_id;
    const auto hit_cells = std::count_if(counted.begin(), counted.end(), [](int64_t n) { return n > 0; });
    EXPECT_LT(hit_cells, static_cast<long>(counted.size()));  // the run leaves experts unhit
    EXPECT_EQ(connection.query_int("SELECT count(*) FROM expert_hits WHERE run_id = " + std::to_string(run_id)),
              hit_cells);
    for (size_t c = 0; c < counted.size(); ++c) {
      if (counted[c] == 0) {
        EXPECT_EQ(hits.weight_sum[c], 0.0) << "cell " << c;
      }
    }
  }
}

TEST(SparseExpertHits, Case2_AFileWithTheOldWritersZeroRowsReadsAndExportsTheSame) {
  const fs::path fresh = sparse_session("sparse-hits-2");
  const fs::path old = test::scratch_dir("sparse-hits-2-old") / "s.db";
  fs::copy_file(fresh, old, fs::copy_options::overwrite_existing);
  add_old_writer_zero_rows(old);
  {
    sessions::Connection connection(old, SQLITE_OPEN_READONLY);
    ASSERT_EQ(connection.query_int("SELECT count(*) FROM expert_hits"), 2 * 3 * 64);  // the full grids
  }

  sessions::SessionReader fresh_reader(fresh);
  sessions::SessionReader old_reader(old);
  for (int64_t run_id : {int64_t{1}, int64_t{2}}) {
    const auto a = fresh_reader.expert_hits(run_id);
    const auto b = old_reader.expert_hits(run_id);
    EXPECT_EQ(a.hits, b.hits);
    EXPECT_EQ(a.weight_sum, b.weight_sum);
  }
  const auto load_a = fresh_reader.tag_expert_load("code");
  const auto load_b = old_reader.tag_expert_load("code");
  EXPECT_EQ(load_a.n_runs, 2);
  EXPECT_EQ(load_a.hits, load_b.hits);

  const fs::path out = test::scratch_dir("sparse-hits-2-out");
  for (const auto& [db, name] : {std::pair{fresh, "fresh"}, std::pair{old, "old"}}) {
    sessions::export_session(db, sessions::ExportFormat::csv, out / name);
    sessions::export_session(db, sessions::ExportFormat::json, out / (std::string(name) + ".json"));
  }
  const std::string csv = file_text(out / "fresh" / "expert_hits.csv");
  EXPECT_EQ(csv, file_text(out / "old" / "expert_hits.csv"));
  EXPECT_EQ(file_text(out / "fresh.json"), file_text(out / "old.json"));
  // The CSV is the full grid: a header and one line per (run, layer, expert), zeros included.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 3 * 64);
  EXPECT_NE(csv.find("\r\n1,1,0,"), std::string::npos);
  EXPECT_NE(csv.find(",0,0\r\n"), std::string::npos);  // an unhit expert's line

  // --run exports only that run's grid.
  sessions::export_session(fresh, sessions::ExportFormat::csv, out / "run2", {.run_id = 2});
  const std::string run2 = file_text(out / "run2" / "expert_hits.csv");
  EXPECT_EQ(std::count(run2.begin(), run2.end(), '\n'), 1 + 3 * 64);
  EXPECT_EQ(run2.find("\r\n1,"), std::string::npos);
}

}  // namespace
}  // namespace moescope
