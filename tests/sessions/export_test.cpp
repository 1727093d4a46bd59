// Focus: exports open in their tools. CSVs have headers and parse back into the numbers the reader
// returns; the chrome trace follows the Trace Event Format (checked field by field, slices on one
// thread nest); JSON parses; the SQLite copy is one self-contained file that opens as a session.
#include "sessions/export.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using sessions::ExportFormat;

std::filesystem::path two_run_session(const std::string& label) {
  auto path = test::scratch_dir(label) / "s.db";
  sessions::SessionWriter writer(path, "test");
  int64_t model_id = writer.add_model(test::synthetic_model());
  test::record_synthetic_run(writer, model_id, {.seed = 1}, "code");
  test::record_synthetic_run(writer, model_id, {.seed = 2}, "poetry, \"quoted\"");
  writer.flush();
  return path;
}

// RFC 4180 parser: quoted fields with doubled quotes and embedded line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
      ++i;
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::map<std::string, size_t> header_index(const std::vector<std::string>& header) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) index[header[i]] = i;
  return index;
}

TEST(Export, Case1_CsvHasHeadersAndRoundTripsIntoTheSameNumbers) {
  auto db = two_run_session("csv");
  auto out = test::scratch_dir("csv-out") / "tables";
  sessions::export_session(db, ExportFormat::csv, out);
  sessions::SessionReader reader(db);
  for (const char* name :
       {"runs.csv", "tokens.csv", "steps.csv", "routing.csv", "expert_hits.csv", "capacity_overflow.csv",
        "timings.csv", "all_to_all.csv", "scores_run_1.csv", "scores_run_2.csv"}) {
    ASSERT_TRUE(std::filesystem::exists(out / name)) << name;
  }

  auto routing = parse_csv(out / "routing.csv");
  ASSERT_FALSE(routing.empty());
  auto rcol = header_index(routing[0]);
  EXPECT_EQ(routing[0][0], "run_id");
  for (const char* name :
       {"step", "position", "layer", "expert_0", "expert_7", "weight_0", "weight_7", "dropped_mask"}) {
    EXPECT_TRUE(rcol.contains(name)) << name;
  }
  for (int64_t run_id : {1, 2}) {
    auto arrays = reader.routing(run_id);
    size_t matched = 0;
    for (size_t r = 1; r < routing.size(); ++r) {
      const auto& row = routing[r];
      ASSERT_EQ(row.size(), routing[0].size());
      if (std::stoll(row[0]) != run_id) continue;
      int32_t t = std::stoi(row[rcol.at("position")]);
      int32_t slot = static_cast<int32_t>(
          std::find(arrays.layer_ids.begin(), arrays.layer_ids.end(), std::stoi(row[rcol.at("layer")])) -
          arrays.layer_ids.begin());
      EXPECT_EQ(std::stoll(row[rcol.at("step")]), arrays.step_of_token[t]);
      for (int32_t i = 0; i < arrays.top_k; ++i) {
        size_t at = arrays.topk_offset(slot, t) + i;
        EXPECT_EQ(std::stoi(row[rcol.at("expert_" + std::to_string(i))]), arrays.topk_ids[at]);
        // 17 significant digits: parses back to the stored double, hence to the same float.
        EXPECT_EQ(static_cast<float>(std::stod(row[rcol.at("weight_" + std::to_string(i))])),
                  arrays.topk_weights[at]);
        ++matched;
      }
      EXPECT_EQ(row[rcol.at("expert_" + std::to_string(arrays.top_k))], "");  // NULL past top_k
    }
    EXPECT_EQ(matched, arrays.topk_ids.size());

    auto scores = parse_csv(out / ("scores_run_" + std::to_string(run_id) + ".csv"));
    ASSERT_EQ(scores[0].size(), 3u + arrays.n_experts);
    EXPECT_EQ(scores[0][3], "expert_0");
    ASSERT_EQ(scores.size(), 1u + static_cast<size_t>(arrays.n_tokens) * arrays.n_layers);
    for (size_t r = 1; r < scores.size(); ++r) {
      int32_t t = std::stoi(scores[r][0]);
      int32_t slot = static_cast<int32_t>(
          std::find(arrays.layer_ids.begin(), arrays.layer_ids.end(), std::stoi(scores[r][1])) -
          arrays.layer_ids.begin());
      for (int32_t e = 0; e < arrays.n_experts; ++e) {
        ASSERT_EQ(static_cast<float>(std::stod(scores[r][3 + e])),
                  arrays.scores[arrays.score_offset(slot, t) + e]);
      }
    }
  }

  auto runs = parse_csv(out / "runs.csv");
  ASSERT_EQ(runs.size(), 3u);
  auto column = header_index(runs[0]);
  EXPECT_EQ(runs[2][column.at("tag")], "poetry, \"quoted\"");  // comma and quotes survive
  EXPECT_EQ(runs[1][column.at("status")], "complete");

  auto tokens = parse_csv(out / "tokens.csv");
  auto stored = reader.tokens(1);
  auto tcol = header_index(tokens[0]);
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(tokens[1 + i][tcol.at("display_text")], stored[i].display_text);  // with "\n" and quotes inside
    if (stored[i].logprob) {
      EXPECT_EQ(std::stod(tokens[1 + i][tcol.at("logprob")]), *stored[i].logprob);
    } else {
      EXPECT_EQ(tokens[1 + i][tcol.at("logprob")], "");
    }
  }

  auto hits = parse_csv(out / "expert_hits.csv");
  auto stored_hits = reader.expert_hits(2);
  int64_t sum_csv = 0;
  int64_t sum_stored = 0;
  for (size_t r = 1; r < hits.size(); ++r) {
    if (hits[r][0] == "2") sum_csv += std::stoll(hits[r][3]);
  }
  for (int64_t h : stored_hits.hits) sum_stored += h;
  EXPECT_EQ(sum_csv, sum_stored);
}

TEST(Export, Case2_ChromeTraceFollowsTheTraceEventFormat) {
  auto db = two_run_session("trace");
  auto out = test::scratch_dir("trace-out") / "trace.json";
  sessions::export_session(db, ExportFormat::chrome_trace, out);
  std::ifstream in(out);
  nlohmann::json trace = nlohmann::json::parse(in);
  ASSERT_TRUE(trace.is_object());
  ASSERT_TRUE(trace.contains("traceEvents"));
  ASSERT_TRUE(trace["traceEvents"].is_array());
  const std::set<std::string> phases{"X", "M", "C", "B", "E", "i", "I"};
  const std::set<std::string> metadata_names{"process_name", "thread_name", "process_sort_index",
                                             "thread_sort_index"};
  std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<double, double>>> slices;
  int complete = 0;
  int counters = 0;
  std::set<int64_t> named_processes;
  for (const auto& event : trace["traceEvents"]) {
    ASSERT_TRUE(event.is_object());
    ASSERT_TRUE(event.contains("name") && event["name"].is_string()) << event.dump();
    ASSERT_TRUE(event.contains("ph") && event["ph"].is_string()) << event.dump();
    ASSERT_TRUE(phases.contains(event["ph"].get<std::string>())) << event.dump();
    ASSERT_TRUE(event.contains("pid") && event["pid"].is_number_integer()) << event.dump();
    ASSERT_TRUE(event.contains("tid") && event["tid"].is_number_integer()) << event.dump();
    std::string ph = event["ph"];
    if (ph == "M") {
      ASSERT_TRUE(metadata_names.contains(event["name"].get<std::string>())) << event.dump();
      ASSERT_TRUE(event["args"]["name"].is_string()) << event.dump();
      if (event["name"] == "process_name") named_processes.insert(event["pid"].get<int64_t>());
      continue;
    }
    ASSERT_TRUE(event.contains("ts") && event["ts"].is_number()) << event.dump();
    ASSERT_GE(event["ts"].get<double>(), 0.0);
    if (ph == "X") {
      ASSERT_TRUE(event.contains("dur") && event["dur"].is_number()) << event.dump();
      ASSERT_GE(event["dur"].get<double>(), 0.0);
      slices[{event["pid"].get<int64_t>(), event["tid"].get<int64_t>()}].push_back(
          {event["ts"].get<double>(), event["ts"].get<double>() + event["dur"].get<double>()});
      ++complete;
    }
    if (ph == "C") {
      ASSERT_TRUE(event["args"].is_object() && !event["args"].empty());
      for (const auto& [key, value] : event["args"].items()) ASSERT_TRUE(value.is_number()) << key;
      ++counters;
    }
  }
  EXPECT_EQ(named_processes, (std::set<int64_t>{1, 2}));
  // Per run: 6 steps; per step 3 layers x 2 phases + lm_head = 7 phase slices.
  EXPECT_EQ(complete, 2 * (6 + 6 * 7));
  EXPECT_EQ(counters, 2 * 6 * 3);
  // Slices on one thread either nest or follow each other: no partial overlap. Ends are computed
  // here as ts + dur and the next start by the exporter as step_ts + offset, which can differ in the
  // last bit; Perfetto works in whole nanoseconds, so 1e-6 us is far below anything it can see.
  constexpr double kTolerance_us = 1e-6;
  for (auto& [thread, spans] : slices) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) {
      bool disjoint = spans[i].first >= spans[i - 1].second - kTolerance_us;
      bool nested = spans[i].second <= spans[i - 1].second + kTolerance_us;
      EXPECT_TRUE(disjoint || nested) << "pid " << thread.first << " tid " << thread.second;
    }
  }
}

TEST(Export, Case3_JsonParsesWithEveryRun) {
  auto db = two_run_session("json");
  auto out = test::scratch_dir("json-out") / "s.json";
  sessions::export_session(db, ExportFormat::json, out, {.run_id = 2});
  std::ifstream in(out);
  nlohmann::json document = nlohmann::json::parse(in);
  EXPECT_EQ(document["format"], "moescope-session");
  ASSERT_EQ(document["runs"].size(), 1u);
  const auto& run = document["runs"][0];
  EXPECT_EQ(run["id"], 2);
  EXPECT_EQ(run["prompt"]["tag"], "poetry, \"quoted\"");
  auto arrays = sessions::SessionReader(db).routing(2);
  EXPECT_EQ(run["routing"]["topk_ids"].get<std::vector<int32_t>>(), arrays.topk_ids);
  EXPECT_EQ(run["routing"]["scores"].get<std::vector<float>>(), arrays.scores);
  EXPECT_EQ(run["tokens"].size(), 17u);
}

TEST(Export, Case4_SqliteCopyIsOneCompactSelfContainedSession) {
  auto db = two_run_session("sqlite");
  auto dir = test::scratch_dir("sqlite-out");
  sessions::export_session(db, ExportFormat::sqlite, dir / "all.db");
  sessions::export_session(db, ExportFormat::sqlite, dir / "run2.db", {.run_id = 2});
  EXPECT_FALSE(std::filesystem::exists(dir / "all.db-wal"));
  sessions::SessionReader all(dir / "all.db");
  EXPECT_EQ(all.runs().size(), 2u);
  EXPECT_EQ(all.routing(1).topk_ids, sessions::SessionReader(db).routing(1).topk_ids);
  sessions::SessionReader one(dir / "run2.db");
  ASSERT_EQ(one.runs().size(), 1u);
  EXPECT_EQ(one.runs()[0].id, 2);
  EXPECT_EQ(one.connection().query_int("SELECT count(*) FROM routing WHERE run_id <> 2"), 0);
  EXPECT_EQ(one.connection().query_int("SELECT count(*) FROM prompts"), 1);
  // Refuses to overwrite, and names the file.
  try {
    sessions::export_session(db, ExportFormat::sqlite, dir / "all.db");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "all.db").string() + ": already exists; the SQLite export writes a new file");
  }
}

TEST(Export, Case5_UnknownFormatAndMissingRunAreClearErrors) {
  EXPECT_THROW(sessions::parse_export_format("parquet"), InputError);
  auto db = two_run_session("badexport");
  EXPECT_THROW(sessions::export_session(db, ExportFormat::json, db.parent_path() / "x.json", {.run_id = 99}),
               InputError);
  EXPECT_FALSE(std::filesystem::exists(db.parent_path() / "x.json"));
}

}  // namespace
}  // namespace moescope
