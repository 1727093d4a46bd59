// Focus: one check of a run's stored values, in the reader, used by every consumer. A value no
// moescope build writes (an expert id past n_experts, a negative or huge count, a token id past
// the vocabulary, a non-numeric expert, an infinite or missing weight, a run whose model row is
// gone) gives the same one line, naming the run, the table and the value, whichever consumer reads
// the run: each accessor of SessionReader and each export format. Before, the JSON export refused
// an expert id past n_experts that CSV, chrome-trace, report and compare accepted.
#include "sessions/run_check.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <vector>

#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/session_fixtures.h"
#include "tests/support/test_paths.h"

namespace moescope::run_check_test {
namespace {

using test::raw_exec;
using test::two_run_session;

using sessions::ExportFormat;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Every way a consumer reaches run `run_id`: all fail with exactly `expected`.
void expect_every_consumer_refuses(const std::filesystem::path& db, int64_t run_id, const std::string& expected) {
  using Reader = sessions::SessionReader;
  const std::vector<std::pair<std::string, std::function<void()>>> consumers = {
      {"routing", [&] { Reader(db).routing(run_id); }},
      {"tokens", [&] { Reader(db).tokens(run_id); }},
      {"steps", [&] { Reader(db).steps(run_id); }},
      {"timings", [&] { Reader(db).timings(run_id); }},
      {"expert_hits", [&] { Reader(db).expert_hits(run_id); }},
      {"capacity_overflow", [&] { Reader(db).capacity_overflow(run_id); }},
      {"all_to_all", [&] { Reader(db).all_to_all(run_id); }},
  };
  for (const auto& [name, consumer] : consumers) EXPECT_EQ(error_of(consumer), expected) << name;
  const auto out = test::scratch_dir("run-check-out");
  int n = 0;
  for (ExportFormat format : {ExportFormat::csv, ExportFormat::json, ExportFormat::chrome_trace, ExportFormat::sqlite}) {
    for (bool only_this_run : {false, true}) {
      const auto target = out / ("export-" + std::to_string(n++));
      sessions::ExportOptions options;
      if (only_this_run) options.run_id = run_id;
      EXPECT_EQ(error_of([&] { sessions::export_session(db, format, target, options); }), expected)
          << "export format " << static_cast<int>(format) << (only_this_run ? " --run" : "");
      EXPECT_FALSE(std::filesystem::exists(target)) << "a refused export left " << target;
    }
  }
}

TEST(RunCheck, Case1_ExpertIdPastNExpertsIsRefusedByEveryConsumer) {
  auto db = two_run_session("check-expert");
  raw_exec(db, "UPDATE routing SET expert_1 = 300 WHERE run_id = 2 AND position = 5 AND layer = 2;");
  expect_every_consumer_refuses(
      db, 2,
      db.string() + ": run 2, table routing: expert id 300 at position 5, layer 2 is outside 0..7 (n_experts 8)");
  // The other run still reads.
  EXPECT_NO_THROW(sessions::SessionReader(db).routing(1));
}

TEST(RunCheck, Case2_BadValuesInEachTableAreNamed) {
  struct Case {
    std::string sql;
    std::string message;  // after "<db>: run 1, "
  };
  const std::vector<Case> cases = {
      {"UPDATE routing SET expert_0 = 'seven' WHERE run_id = 1 AND position = 3 AND layer = 4",
       "table routing: expert id 'seven' at position 3, layer 4 is not an integer"},
      {"UPDATE routing SET weight_1 = 1e999 WHERE run_id = 1 AND position = 0 AND layer = 1",
       "table routing: weight_1 inf at position 0, layer 1 is not finite"},
      // SQLite stores a NaN as NULL: a weight that is not there.
      {"UPDATE routing SET weight_0 = 0.0 / 0.0 WHERE run_id = 1 AND position = 2 AND layer = 1",
       "table routing: weight_0 NULL at position 2, layer 1 is missing (NULL)"},
      {"UPDATE routing SET expert_5 = 3 WHERE run_id = 1 AND position = 1 AND layer = 2",
       "table routing: expert_5 3 at position 1, layer 2 is set, but the run's top_k is 2"},
      {"UPDATE tokens SET token_id = -4 WHERE run_id = 1 AND position = 6",
       "table tokens: token id -4 at position 6 is outside 0..2147483647"},
      {"UPDATE models SET config_json = '{\"vocab_size\": 100}'; UPDATE tokens SET token_id = token_id % 100;"
       " UPDATE tokens SET token_id = 100 WHERE run_id = 1 AND position = 6",
       "table tokens: token id 100 at position 6 is outside 0..99 (vocab_size 100)"},
      {"UPDATE steps SET n_tokens = -1 WHERE run_id = 1 AND step = 2",
       "table steps: n_tokens -1 at step 2 is outside 0..16777216"},
      {"UPDATE expert_hits SET expert = 8 WHERE run_id = 1 AND layer = 4 AND expert = (SELECT max(expert) FROM"
       " expert_hits WHERE run_id = 1 AND layer = 4)",
       "table expert_hits: expert id 8 at layer 4, expert 8 is outside 0..7 (n_experts 8)"},
      {"UPDATE capacity_overflow SET overflow = -5 WHERE run_id = 1 AND layer = 1 AND expert = 0 AND capacity_factor = 1.0",
       "table capacity_overflow: overflow -5 at capacity_factor 1, layer 1, expert 0 is outside 0..4611686018427387904"},
      {"UPDATE timings SET duration_us = 'slow' WHERE rowid = (SELECT min(rowid) FROM timings WHERE run_id = 1)",
       "table timings: duration_us 'slow' at step 0, layer "},
      {"UPDATE all_to_all SET src_rank = 5000 WHERE run_id = 1 AND step = 0 AND layer = 1 AND src_rank = 1 AND dst_rank = 0",
       "table all_to_all: src_rank 5000 at step 0, layer 1, src_rank 5000, dst_rank 0 is outside 0..4095"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    auto db = two_run_session("check-values");
    raw_exec(db, c.sql);
    const std::string error = error_of([&] { sessions::SessionReader(db).routing(1); });
    EXPECT_EQ(error.rfind(db.string() + ": run 1, " + c.message, 0), 0u) << error;
    // The same line from an export of every run.
    EXPECT_EQ(error_of([&] { sessions::export_session(db, ExportFormat::csv, db.parent_path() / "csv"); }), error);
  }
}

TEST(RunCheck, Case3_CountsOfTheRunRowAreCheckedWhereverRunsAreListed) {
  auto db = two_run_session("check-counts");
  raw_exec(db, "UPDATE runs SET n_prompt_tokens = -3 WHERE id = 2;");
  const std::string expected = db.string() + ": run 2, table runs: n_prompt_tokens -3 is outside 0..16777216";
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).runs(); }), expected);
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).run(2); }), expected);
  raw_exec(db, "UPDATE runs SET n_prompt_tokens = 12, n_generated_tokens = 9000000000000 WHERE id = 2;");
  EXPECT_NE(error_of([&] { sessions::SessionReader(db).runs(); }).find("n_generated_tokens 9000000000000 is outside"),
            std::string::npos);
  raw_exec(db, "UPDATE runs SET n_generated_tokens = 5, total_us = 1e999 WHERE id = 2;");
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).runs(); }),
            db.string() + ": run 2, table runs: total_us inf is not finite");
}

TEST(RunCheck, Case4_ARunWhoseModelRowIsMissingIsRefusedNotDropped) {
  auto db = two_run_session("check-model");
  raw_exec(db, "INSERT INTO models SELECT 2, path || '2', model_type, family, config_json, n_layers, n_experts,"
               " top_k, n_shared_experts, parameter_count, active_parameter_count FROM models WHERE id = 1;"
               "UPDATE runs SET model_id = 2 WHERE id = 2; DELETE FROM models WHERE id = 2;");
  const std::string expected = db.string() + ": run 2, table runs: model_id 2 names no row of table models";
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).runs(); }), expected);
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).run(2); }), expected);
  EXPECT_EQ(error_of([&] { sessions::export_session(db, ExportFormat::json, db.parent_path() / "x.json"); }),
            expected);
}

// runs() checks every runs row in one query, then only the first it refuses on its own: the error
// is still the first a run-by-run listing meets, whichever rule refuses which run.
TEST(RunCheck, Case5_ListingRunsNamesTheFirstBadRunInIdOrder) {
  auto db = two_run_session("check-order");
  raw_exec(db, "UPDATE runs SET n_prompt_tokens = -3 WHERE id = 2; UPDATE runs SET total_us = 1e999 WHERE id = 1;");
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).runs(); }),
            db.string() + ": run 1, table runs: total_us inf is not finite");
  raw_exec(db, "UPDATE runs SET total_us = 1.0 WHERE id = 1;");
  EXPECT_EQ(error_of([&] { sessions::SessionReader(db).runs(); }),
            db.string() + ": run 2, table runs: n_prompt_tokens -3 is outside 0..16777216");
  // A run read before the first refused row still fails on its own terms first.
  raw_exec(db, "UPDATE runs SET moe_layers = '[3, 1]' WHERE id = 1;");
  EXPECT_NE(error_of([&] { sessions::SessionReader(db).runs(); }).find("run 1 has malformed moe_layers"),
            std::string::npos);
  raw_exec(db, "UPDATE runs SET moe_layers = '[1, 2, 4]', n_prompt_tokens = 12 WHERE id IN (1, 2);");
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), 2u);
}

}  // namespace
}  // namespace moescope::run_check_test
