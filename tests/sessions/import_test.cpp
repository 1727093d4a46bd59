// Focus: `moescope import`'s library side (sessions/importers). Schema version 3 is the same
// whether a file is created fresh or migrated from version 2; transformers router logits imported
// with the model's routing rule give the reference's own top-k; every fixture built from the
// engines' definitions (tests/fixtures/import, make_fixtures.py) imports with the right dimensions,
// ids and provenance; each damaged capture is refused with one error naming the request and the
// field, and nothing of its file stays in the session.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "core/model_config.h"
#include "sessions/importers/base64.h"
#include "sessions/importers/importers.h"
#include "sessions/reader.h"
#include "sessions/schema.h"
#include "sessions/session_file.h"
#include "tests/support/golden.h"
#include "tests/support/session_fixtures.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using sessions::CaptureFormat;

fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/import" / name; }
fs::path config_of(const std::string& model) { return test::golden_model(model) / "config.json"; }

// Imports `files` into a fresh session; returns its path.
fs::path import_into(const std::string& label, CaptureFormat format, const std::string& model,
                     const std::vector<fs::path>& files, const std::string& tag = "") {
  fs::path db = test::scratch_dir(label) / "s.db";
  sessions::ImportWriter writer(db, config_of(model), {.tag = tag});
  for (const auto& file : files) sessions::import_capture_file(format, file, writer, "");
  return db;
}

TEST(Import, Case1_AVersion2FileMigratedToVersion3HasExactlyAFreshFilesSchema) {
  const fs::path dir = test::scratch_dir("import-schema");
  const fs::path fresh = dir / "fresh.db";
  sessions::open_session(fresh, sessions::OpenMode::write);
  // A version-2 file built from versions 1 and 2's own DDL, as a version-2 build wrote it.
  const fs::path old = dir / "v2.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
    std::string sql = std::string(sessions::migrations()[0].sql) + std::string(sessions::migrations()[1].sql) +
                      "PRAGMA application_id = " + std::to_string(sessions::kApplicationId) + "; PRAGMA user_version = 2;";
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  const std::string before = test::schema_of(old);
  EXPECT_EQ(before.find("imported_runs"), std::string::npos);
  sessions::SessionReader upgraded(old);  // opening upgrades in place
  EXPECT_EQ(upgraded.connection().query_int("PRAGMA user_version"), sessions::kSchemaVersion);
  EXPECT_EQ(test::schema_of(old), test::schema_of(fresh));
  EXPECT_NE(test::schema_of(old).find("imported_runs"), std::string::npos);
}

TEST(Import, Case2_GoldenRouterLogitsImportedWithTheModelsRuleGiveTheReferencesTopK) {
  for (const std::string& model : test::kGoldenModels) {
    SCOPED_TRACE(model);
    const fs::path capture = test::golden_model(model) / "golden.safetensors";
    const fs::path db = import_into("import-hf-" + model, CaptureFormat::hf, model, {capture});
    sessions::SessionReader reader(db);
    ASSERT_EQ(reader.runs().size(), 1u);
    auto arrays = reader.routing(1, {.scores = true, .router_logits = true});
    auto golden = test::open_golden(model);
    const auto input_ids = golden.i32("input_ids");
    ASSERT_EQ(arrays.n_tokens, static_cast<int32_t>(input_ids.size()));
    EXPECT_EQ(arrays.token_ids, input_ids);
    EXPECT_FALSE(arrays.scores.empty());
    EXPECT_FALSE(arrays.router_logits.empty());
    const ModelConfig config = load_model_config(config_of(model));
    ASSERT_EQ(arrays.layer_ids, config.moe_layers());
    for (int32_t s = 0; s < arrays.n_layers; ++s) {
      const int32_t layer = arrays.layer_ids[static_cast<size_t>(s)];
      // transformers' own choice, stored as float32 values.
      const auto reference = golden.f32("gate_out2." + std::to_string(layer));
      std::vector<int32_t> reference_ids(reference.begin(), reference.end());
      std::vector<int32_t> imported(arrays.topk_ids.begin() + static_cast<ptrdiff_t>(arrays.topk_offset(s, 0)),
                                    arrays.topk_ids.begin() + static_cast<ptrdiff_t>(arrays.topk_offset(s, arrays.n_tokens)));
      EXPECT_EQ(test::topk_set_agreement(imported, reference_ids, arrays.top_k), 1.0) << "layer " << layer;
      // Combine weights as transformers computed them (float16 storage is not involved: weights are REAL).
      const auto weights = golden.f32("gate_out1." + std::to_string(layer));
      for (int32_t t = 0; t < arrays.n_tokens; ++t) {
        for (int32_t r = 0; r < arrays.top_k; ++r) {
          const size_t i = static_cast<size_t>(t * arrays.top_k + r);
          // Reference rows may list the same set in another order: match by expert id.
          for (int32_t q = 0; q < arrays.top_k; ++q) {
            if (reference_ids[static_cast<size_t>(t * arrays.top_k + q)] == imported[i]) {
              EXPECT_NEAR(arrays.topk_weights[arrays.topk_offset(s, t) + static_cast<size_t>(r)],
                          weights[static_cast<size_t>(t * arrays.top_k + q)], 1e-4);
            }
          }
        }
      }
    }
    auto info = reader.import_info(1);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->engine, "hf");
    EXPECT_EQ(info->not_captured, (std::vector<std::string>{"text", "steps", "timings"}));
  }
}

TEST(Import, Case3_SglangResponsesBecomeOneRunEachWithTheirTokensAndRouting) {
  const fs::path db = import_into("import-sglang", CaptureFormat::sglang, "mixtral-tiny",
                                  {fixture("sglang_mixtral.jsonl")}, "served");
  sessions::SessionReader reader(db);
  auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 3u);
  std::ifstream in(fixture("sglang_mixtral.jsonl"));
  std::string line;
  for (const auto& run : runs) {
    ASSERT_TRUE(std::getline(in, line));
    const auto record = nlohmann::json::parse(line);
    const auto& meta = record["meta_info"];
    const int64_t prompt = meta["prompt_tokens"], completion = meta["completion_tokens"];
    EXPECT_EQ(run.status, "complete");
    EXPECT_EQ(run.tag, "served");
    EXPECT_EQ(run.backend, "sglang");
    EXPECT_EQ(run.n_prompt_tokens, prompt);
    EXPECT_EQ(run.n_generated_tokens, completion);
    auto arrays = reader.routing(run.id, {.scores = true});
    ASSERT_EQ(arrays.n_tokens, prompt + completion - 1);
    EXPECT_TRUE(arrays.scores.empty());
    // The capture's [token, layer, k] ids, decoded here independently of the importer's decoder.
    const std::string text = meta["routed_experts"];
    std::vector<int32_t> ids;
    {
      const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::vector<uint8_t> bytes;
      uint32_t bits = 0;
      int n = 0;
      for (char c : text) {
        if (c == '=') break;
        bits = bits << 6 | static_cast<uint32_t>(alphabet.find(c));
        if ((n += 6) >= 8) bytes.push_back(static_cast<uint8_t>(bits >> (n -= 8)));
      }
      for (size_t i = 0; i + 3 < bytes.size(); i += 4)
        ids.push_back(static_cast<int32_t>(bytes[i] | bytes[i + 1] << 8 | bytes[i + 2] << 16 | bytes[i + 3] << 24));
    }
    ASSERT_EQ(ids.size(), static_cast<size_t>(arrays.n_tokens * 2 * 2));
    for (int32_t t = 0; t < arrays.n_tokens; ++t)
      for (int32_t layer = 0; layer < 2; ++layer)
        for (int32_t r = 0; r < 2; ++r)
          EXPECT_EQ(arrays.topk_ids[arrays.topk_offset(layer, t) + static_cast<size_t>(r)],
                    ids[static_cast<size_t>((t * 2 + layer) * 2 + r)]);
    const bool has_ids = record.contains("input_ids");
    EXPECT_EQ(reader.tokens(run.id).size(), has_ids ? static_cast<size_t>(prompt + completion) : 0u);
    auto info = reader.import_info(run.id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->request_id, meta["id"].get<std::string>());
    EXPECT_EQ(std::count(info->not_captured.begin(), info->not_captured.end(), "topk_weights"), 1);
  }
}

TEST(Import, Case4_DenseLayersOfTheCaptureAreSkippedAndMoeLayersKeepTheirIndexes) {
  const fs::path db = import_into("import-dsv3", CaptureFormat::sglang, "deepseek-v3-tiny",
                                  {fixture("sglang_deepseek_v3.json")});
  sessions::SessionReader reader(db);
  ASSERT_EQ(reader.runs().size(), 2u);
  auto arrays = reader.routing(1, {});
  EXPECT_EQ(arrays.layer_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(arrays.top_k, 4);
  // Layer 0 is dense and held zeros; the MoE layers carry distinct experts per token.
  for (int32_t t = 0; t < arrays.n_tokens; ++t) {
    std::set<int32_t> set(arrays.topk_ids.begin() + static_cast<ptrdiff_t>(arrays.topk_offset(0, t)),
                          arrays.topk_ids.begin() + static_cast<ptrdiff_t>(arrays.topk_offset(0, t) + 4));
    EXPECT_EQ(set.size(), 4u);
  }
}

TEST(Import, Case5_VllmOutputsBecomeRunsAndTheFileNamesTheEngineVersion) {
  const fs::path db = import_into("import-vllm", CaptureFormat::vllm, "qwen3-moe-tiny", {fixture("vllm_qwen3.jsonl")});
  sessions::SessionReader reader(db);
  auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 3u);  // cmpl-1, and cmpl-2's two outputs
  EXPECT_EQ(reader.import_info(2)->request_id, "cmpl-2/0");
  EXPECT_EQ(reader.import_info(3)->request_id, "cmpl-2/1");
  for (const auto& run : runs) {
    EXPECT_EQ(reader.import_info(run.id)->engine_version, "0.11.1");
    EXPECT_EQ(reader.routing(run.id, {}).n_tokens, run.n_prompt_tokens + run.n_generated_tokens - 1);
  }
}

TEST(Import, Case6_AConvertedSglangDumpIsOneRunWhoseStepsAreTheForwardPasses) {
  const fs::path db = import_into("import-dump", CaptureFormat::sglang_dump, "mixtral-tiny",
                                  {fixture("sglang_dump_mixtral.safetensors")});
  sessions::SessionReader reader(db);
  ASSERT_EQ(reader.runs().size(), 1u);
  auto steps = reader.steps(1);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].n_tokens, 6);
  EXPECT_EQ(steps[2].first_position, 8);
  // Batching is captured, so capacity overflow per step is stored as for recorded runs.
  EXPECT_FALSE(reader.capacity_overflow(1).capacity_factors.empty());
  const auto info = reader.import_info(1);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->engine_version, "0.5.4");
  EXPECT_TRUE(info->has("steps"));
}

struct BadCase {
  const char* file;
  CaptureFormat format;
  const char* request;  // the request the error must name
  const char* field;    // and the field
};

TEST(Import, Case7_EachDamagedCaptureIsRefusedNamingRequestAndFieldAndLeavesNothing) {
  const std::vector<BadCase> cases = {
      {"sglang_wrong_layers.jsonl", CaptureFormat::sglang, "wrong-layers", "meta_info.routed_experts"},
      {"sglang_wrong_k.jsonl", CaptureFormat::sglang, "wrong-k", "meta_info.routed_experts"},
      {"sglang_bad_expert_id.jsonl", CaptureFormat::sglang, "bad-expert", "expert id 8"},
      {"sglang_truncated_base64.jsonl", CaptureFormat::sglang, "truncated", "base64"},
      {"sglang_bad_json.jsonl", CaptureFormat::sglang, "sglang_bad_json.jsonl:2", "not valid JSON"},
      {"sglang_missing_routed_experts.jsonl", CaptureFormat::sglang, "no-routing", "routed_experts is missing"},
      {"vllm_wrong_k.jsonl", CaptureFormat::vllm, "vllm-wrong-k", "routed_experts.shape: top-3"},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.file);
    const fs::path db = test::scratch_dir(std::string("import-bad-") + bad.file) / "s.db";
    std::string error;
    {
      sessions::ImportWriter writer(db, config_of("mixtral-tiny"), {});
      try {
        sessions::import_capture_file(bad.format, fixture(std::string("bad/") + bad.file), writer, "");
      } catch (const InputError& e) {
        error = e.what();
      }
    }
    EXPECT_NE(error.find(bad.request), std::string::npos) << error;
    EXPECT_NE(error.find(bad.field), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    // The good request before the damaged one was rolled back with it: one transaction per file.
    sessions::Connection check(db, SQLITE_OPEN_READONLY);
    for (const char* table : {"runs", "routing", "tokens", "imported_runs", "sessions", "models"})
      EXPECT_EQ(check.query_int(std::string("SELECT count(*) FROM ") + table), 0) << table;
  }
}

TEST(Import, Case8_AFailedFileKeepsTheFilesImportedBeforeIt) {
  const fs::path db = test::scratch_dir("import-partial") / "s.db";
  {
    sessions::ImportWriter writer(db, config_of("mixtral-tiny"), {});
    sessions::import_capture_file(CaptureFormat::sglang, fixture("sglang_mixtral.jsonl"), writer, "");
    EXPECT_THROW(sessions::import_capture_file(CaptureFormat::sglang, fixture("bad/sglang_wrong_k.jsonl"), writer, ""),
                 InputError);
    EXPECT_EQ(writer.runs_written(), 3);
  }
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), 3u);
}

TEST(Import, Case9_ConfigMismatchesOfTransformersCapturesNameTheTensor) {
  // mixtral-tiny's logits under qwen3-moe-tiny's config: 8 experts where the config has 16.
  const fs::path db = test::scratch_dir("import-hf-mismatch") / "s.db";
  sessions::ImportWriter writer(db, config_of("qwen3-moe-tiny"), {});
  try {
    sessions::import_capture_file(CaptureFormat::hf, test::golden_model("mixtral-tiny") / "golden.safetensors", writer, "");
    FAIL() << "imported a capture of another model";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("router_logits.0: shape [40, 8], expected [40, 16]"), std::string::npos)
        << e.what();
  }
  // deepseek-v3-tiny's layers 1, 2 under mixtral-tiny's config (MoE layers 0, 1): layer 2 is not one.
  sessions::ImportWriter other(test::scratch_dir("import-hf-layers") / "s.db", config_of("mixtral-tiny"), {});
  try {
    sessions::import_capture_file(CaptureFormat::hf, test::golden_model("deepseek-v3-tiny") / "golden.safetensors",
                                  other, "");
    FAIL() << "imported a capture of another model";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("router_logits.2: not a MoE layer of the config"), std::string::npos)
        << e.what();
  }
}

TEST(Import, Case11_ATagsExpertLoadIsSummedBySqliteAcrossItsRuns) {
  const fs::path db = import_into("import-aggregate", CaptureFormat::sglang, "mixtral-tiny",
                                  {fixture("sglang_mixtral.jsonl")}, "served");
  sessions::SessionReader reader(db);
  const auto load = reader.tag_expert_load("served");
  EXPECT_EQ(load.n_runs, 3);
  ASSERT_EQ(load.layer_ids, (std::vector<int32_t>{0, 1}));
  // The same sums from each run's routing, loaded one by one.
  std::vector<int64_t> expected(2 * 8, 0);
  int64_t assignments = 0;
  for (const auto& run : reader.runs()) {
    auto arrays = reader.routing(run.id, {});
    for (int32_t s = 0; s < 2; ++s)
      for (int32_t t = 0; t < arrays.n_tokens; ++t)
        for (int32_t r = 0; r < 2; ++r) ++expected[static_cast<size_t>(s * 8 + arrays.topk_ids[arrays.topk_offset(s, t) + static_cast<size_t>(r)])];
    assignments += int64_t{arrays.n_tokens} * 2 * 2;
  }
  EXPECT_EQ(load.hits, expected);
  EXPECT_EQ(std::accumulate(load.hits.begin(), load.hits.end(), int64_t{0}), assignments);
  EXPECT_EQ(reader.tag_expert_load("no-such-tag").n_runs, 0);
}

TEST(Import, Case10_Base64IsStrict) {
  EXPECT_EQ(sessions::decode_base64("TWFu", "x"), (std::vector<uint8_t>{'M', 'a', 'n'}));
  EXPECT_EQ(sessions::decode_base64("TWE=", "x"), (std::vector<uint8_t>{'M', 'a'}));
  EXPECT_EQ(sessions::decode_base64("TWE", "x"), (std::vector<uint8_t>{'M', 'a'}));
  EXPECT_EQ(sessions::decode_base64_int32("AQAAAP////8=", "x"), (std::vector<int32_t>{1, -1}));
  EXPECT_THROW(sessions::decode_base64("TWFuT", "x"), InputError);   // one character past a group
  EXPECT_THROW(sessions::decode_base64("TW=u", "x"), InputError);    // padding inside
  EXPECT_THROW(sessions::decode_base64("TW u", "x"), InputError);    // not base64
  EXPECT_THROW(sessions::decode_base64("TWF=", "x"), InputError);    // stray bits
  EXPECT_THROW(sessions::decode_base64_int32("TWFu", "x"), InputError);  // 3 bytes: no whole int32
  EXPECT_EQ(sessions::decode_base64("TWFuTQ", "x"), (std::vector<uint8_t>{'M', 'a', 'n', 'M'}));  // groups, then a tail
  EXPECT_THROW(sessions::decode_base64("TWFuT?Fu", "x"), InputError);  // not base64 inside the second group
  EXPECT_THROW(sessions::decode_base64("TWFuTR", "x"), InputError);    // stray bits in a two-character tail
}


namespace import_scale_test {

std::string base64_of(const std::vector<int32_t>& values) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i)
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<char>((static_cast<uint32_t>(values[i]) >> (8 * b)) & 0xFF);
  std::string text;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    text += kAlphabet[(chunk >> 18) & 63];
    text += kAlphabet[(chunk >> 12) & 63];
    text += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    text += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return text;
}

}  // namespace import_scale_test

// The shape of docs/perf.md's 100,000-request measurement, scaled down: every request becomes a
// complete run with exactly its routing, token and expert-hit rows (each written by one statement
// per run), and the whole file is one transaction.
TEST(Import, Case12_ManySmallRequestsImportWithEveryRowOfEachRun) {
  constexpr int kRequests = 400, kPrompt = 16, kGenerated = 8, kLayers = 2, kTopK = 2, kExperts = 8;
  constexpr int kPositions = kPrompt + kGenerated - 1;
  const fs::path dir = test::scratch_dir("import-scale");
  const fs::path capture = dir / "capture.jsonl";
  {
    std::ofstream out(capture);
    for (int r = 0; r < kRequests; ++r) {
      std::vector<int32_t> prompt(kPrompt), output(kGenerated), routing;
      std::iota(prompt.begin(), prompt.end(), r % 400);
      std::iota(output.begin(), output.end(), 7);
      for (int t = 0; t < kPositions; ++t)
        for (int layer = 0; layer < kLayers; ++layer)
          for (int i = 0; i < kTopK; ++i) routing.push_back((r + t + layer + 3 * i) % kExperts);
      out << nlohmann::json{{"input_ids", prompt},
                            {"output_ids", output},
                            {"meta_info",
                             {{"id", "r" + std::to_string(r)},
                              {"prompt_tokens", kPrompt},
                              {"completion_tokens", kGenerated},
                              {"routed_experts", import_scale_test::base64_of(routing)}}}}
                 .dump()
          << "\n";
    }
  }
  const fs::path db = dir / "s.db";
  {
    sessions::ImportWriter writer(db, config_of("mixtral-tiny"), {.tag = "served"});
    sessions::import_capture_file(CaptureFormat::sglang, capture, writer, "");
    EXPECT_EQ(writer.runs_written(), kRequests);
    EXPECT_EQ(writer.routing_rows_written(), int64_t{kRequests} * kPositions * kLayers);
  }
  sessions::Connection connection(db, SQLITE_OPEN_READONLY);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM runs WHERE status = 'complete' AND n_prompt_tokens = 16"
                                 " AND n_generated_tokens = 8"),
            kRequests);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM routing"), int64_t{kRequests} * kPositions * kLayers);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM tokens"), int64_t{kRequests} * (kPrompt + kGenerated));
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM tokens WHERE is_prompt = 1"), int64_t{kRequests} * kPrompt);
  // Only the experts that were hit have a row (docs/session_schema.md), as for recorded runs.
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM expert_hits"),
            connection.query_int("SELECT count(*) FROM (SELECT run_id, layer, expert_0 FROM routing"
                                 " UNION SELECT run_id, layer, expert_1 FROM routing)"));
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM expert_hits WHERE hits = 0"), 0);
  EXPECT_EQ(connection.query_int("SELECT sum(hits) FROM expert_hits"), int64_t{kRequests} * kPositions * kLayers * kTopK);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM imported_runs"), kRequests);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM steps"), kRequests);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM sessions"), 1);
  // Every run reads back whole through the reader's checks: its hits agree with its routing.
  sessions::SessionReader reader(db);
  for (int64_t run_id : {int64_t{1}, int64_t{kRequests / 2}, int64_t{kRequests}}) {
    const auto routing = reader.routing(run_id);
    const auto hits = reader.expert_hits(run_id);
    std::vector<int64_t> counted(hits.hits.size(), 0);
    for (int32_t slot = 0; slot < routing.n_layers; ++slot)
      for (int32_t t = 0; t < routing.n_tokens; ++t)
        for (int32_t i = 0; i < routing.top_k; ++i)
          ++counted[static_cast<size_t>(slot) * kExperts + routing.topk_ids[routing.topk_offset(slot, t) + i]];
    EXPECT_EQ(hits.hits, counted) << "run " << run_id;
    EXPECT_EQ(reader.tokens(run_id).size(), static_cast<size_t>(kPrompt + kGenerated));
  }
}

}  // namespace
}  // namespace moescope
