// Focus: timing, not correctness (disabled by default; run explicitly, figures go to docs/perf.md):
//   build/dev/tests/moescope_sessions_tests --gtest_also_run_disabled_tests --gtest_filter='ImportBench.*'
// The same N short requests (16 prompt + 8 generated tokens; top-k ids of the 23 routed positions
// in every MoE layer, no weights or scores: what SGLang's --enable-return-routed-experts captures)
// written twice into fresh session files:
//   recorder: SessionWriter as an engine drives it (observer events, its queue, the writer thread,
//             RunWriter), one 23-token step and the 24 tokens per run, top-k ids only;
//   importer: a capture file of the same requests in SGLang's format through `import_capture_file`
//             (JSON parsing, base64, checks, RunWriter in the file's one transaction).
// The figure is the process's CPU time (every thread) per routing row; the importer's JSON and
// base64 decoding alone is timed too. At mixtral-tiny's shape (2 MoE layers, 8 experts, top-2) and
// at DeepSeek-V3's (61 layers of which 58 MoE, 256 experts, top-8).
// MOESCOPE_BENCH_REQUESTS=N overrides the number of requests of both shapes.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <random>

#include "core/model_config.h"
#include "sessions/importers/base64.h"
#include "sessions/importers/import_writer.h"
#include "sessions/importers/importers.h"
#include "sessions/importers/json_records.h"
#include "sessions/recorder.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace import_bench {

namespace fs = std::filesystem;

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

struct Shape {
  const char* name;
  int32_t n_hidden_layers;
  int32_t first_dense;  // layers 0 .. first_dense - 1 are dense
  int32_t n_experts;
  int32_t top_k;
  int64_t requests;
};

constexpr int32_t kPromptTokens = 16, kGeneratedTokens = 8;
constexpr int32_t kPositions = kPromptTokens + kGeneratedTokens - 1;  // the last token is never fed back

// One request: (positions, all hidden layers, top_k) ids as the engine's buffer holds them (dense
// layers' slots too), and its token ids. Skewed so loads differ, like tools/import/make_synthetic_capture.py.
struct Request {
  std::vector<int32_t> ids;  // (positions, n_hidden_layers, top_k)
  std::vector<int32_t> prompt, output;
};

Request make_request(const Shape& shape, std::mt19937_64& rng) {
  Request request;
  std::vector<int32_t> row;
  for (int32_t p = 0; p < kPositions; ++p) {
    for (int32_t layer = 0; layer < shape.n_hidden_layers; ++layer) {
      row.clear();
      while (static_cast<int32_t>(row.size()) < shape.top_k) {
        // Square of a uniform draw: low expert ids are hit more often.
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        const auto expert = static_cast<int32_t>(u * u * shape.n_experts);
        if (std::find(row.begin(), row.end(), expert) == row.end()) row.push_back(expert);
      }
      request.ids.insert(request.ids.end(), row.begin(), row.end());
    }
  }
  for (int32_t t = 0; t < kPromptTokens; ++t) request.prompt.push_back(static_cast<int32_t>(rng() % 512));
  for (int32_t t = 0; t < kGeneratedTokens; ++t) request.output.push_back(static_cast<int32_t>(rng() % 512));
  return request;
}

std::string base64_of(const std::vector<int32_t>& values) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> bytes;
  for (int32_t v : values)
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * b)));
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t{bytes[i]} << 16;
    if (i + 1 < bytes.size()) n |= uint32_t{bytes[i + 1]} << 8;
    if (i + 2 < bytes.size()) n |= bytes[i + 2];
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

fs::path write_config(const Shape& shape, const fs::path& dir) {
  nlohmann::json config = nlohmann::json::parse(
      std::ifstream(test::golden_model("deepseek-v3-tiny") / "config.json"));
  config["num_hidden_layers"] = shape.n_hidden_layers;
  config["first_k_dense_replace"] = shape.first_dense;
  config["n_routed_experts"] = shape.n_experts;
  config["num_experts_per_tok"] = shape.top_k;
  config["n_group"] = shape.n_experts >= 64 ? 8 : 1;
  config["topk_group"] = shape.n_experts >= 64 ? 4 : 1;
  const fs::path file = dir / "config.json";
  std::ofstream(file) << config.dump(2);
  return file;
}

struct Figures {
  double cpu_s = 0;
  int64_t routing_rows = 0;
};

Figures record(const Shape& shape, const std::vector<Request>& requests, const fs::path& db) {
  sessions::RecorderOptions options;
  options.capacity_factors = {};  // as an import without captured batching
  options.store_scores = false;
  options.store_weights = false;
  const double start = process_cpu_seconds();
  {
    sessions::SessionWriter writer(db, "bench", options);
    sessions::ModelInfo model;
    model.path = "/bench";
    model.model_type = "deepseek_v3";
    model.family = "deepseek_v3";
    model.config_json = "{}";
    const int64_t model_id = writer.add_model(model);
    sessions::RunInfo info;
    info.model_id = model_id;
    info.tag = "bench";
    info.backend = "cpu";
    info.device = "bench";
    for (int32_t layer = shape.first_dense; layer < shape.n_hidden_layers; ++layer) info.moe_layers.push_back(layer);
    info.n_experts = shape.n_experts;
    info.top_k = shape.top_k;
    std::vector<int32_t> layer_ids(static_cast<size_t>(kPositions) * static_cast<size_t>(shape.top_k));
    const std::vector<float> weights(layer_ids.size(), 0.0f);
    std::vector<sessions::TokenRecord> tokens(kPromptTokens + kGeneratedTokens);
    const auto k = static_cast<size_t>(shape.top_k);
    for (const Request& request : requests) {
      writer.begin_run(info);
      const StepInfo step{0, 0, kPositions};
      writer.observer().on_step_begin(step);
      for (int32_t layer : info.moe_layers) {
        for (size_t p = 0; p < static_cast<size_t>(kPositions); ++p) {
          const size_t from = (p * static_cast<size_t>(shape.n_hidden_layers) + static_cast<size_t>(layer)) * k;
          std::copy_n(request.ids.begin() + static_cast<ptrdiff_t>(from), k, layer_ids.begin() + static_cast<ptrdiff_t>(p * k));
        }
        RoutingEvent event;
        event.step = 0;
        event.layer = layer;
        event.n_tokens = kPositions;
        event.n_experts = shape.n_experts;
        event.top_k = shape.top_k;
        event.topk_ids = layer_ids;
        event.topk_weights = weights;
        writer.observer().on_routing(event);
      }
      writer.observer().on_step_end(step, {});
      for (size_t t = 0; t < tokens.size(); ++t) {
        tokens[t].position = static_cast<int64_t>(t);
        tokens[t].is_prompt = t < kPromptTokens;
        tokens[t].token_id = t < kPromptTokens ? request.prompt[t] : request.output[t - kPromptTokens];
      }
      writer.add_tokens(tokens);
      writer.end_run({});
    }
    writer.flush();
  }
  return {process_cpu_seconds() - start,
          static_cast<int64_t>(requests.size()) * kPositions * (shape.n_hidden_layers - shape.first_dense)};
}

fs::path write_capture(const std::vector<Request>& requests, const fs::path& dir) {
  const fs::path file = dir / "capture.jsonl";
  std::ofstream out(file);
  for (size_t r = 0; r < requests.size(); ++r) {
    out << nlohmann::json{{"text", ""},
                          {"input_ids", requests[r].prompt},
                          {"output_ids", requests[r].output},
                          {"meta_info",
                           {{"id", "bench-" + std::to_string(r)},
                            {"prompt_tokens", kPromptTokens},
                            {"completion_tokens", kGeneratedTokens},
                            {"routed_experts", base64_of(requests[r].ids)}}}}
               .dump()
        << "\n";
  }
  return file;
}

Figures import(const fs::path& capture, const fs::path& config, const fs::path& db) {
  const double start = process_cpu_seconds();
  sessions::ImportWriter writer(db, config, {.tag = "bench"});
  sessions::import_capture_file(sessions::CaptureFormat::sglang, capture, writer, "");
  return {process_cpu_seconds() - start, writer.routing_rows_written()};
}

// The importer's reading alone: every line parsed and its routing decoded, nothing written.
double parse_only(const fs::path& capture) {
  const double start = process_cpu_seconds();
  int64_t values = 0;
  sessions::for_each_json_record(capture, [&](const nlohmann::json& record, const std::string& label) {
    values += static_cast<int64_t>(
        sessions::decode_base64_int32(record["meta_info"]["routed_experts"].get_ref<const std::string&>(), label)
            .size());
  });
  EXPECT_GT(values, 0);
  return process_cpu_seconds() - start;
}

TEST(ImportBench, DISABLED_ShortRunsRecorderAgainstImporter) {
  const char* requests_env = std::getenv("MOESCOPE_BENCH_REQUESTS");
  const int64_t override_requests = requests_env ? std::atoll(requests_env) : 0;
  for (Shape shape : {Shape{"mixtral-tiny", 2, 0, 8, 2, 20000}, Shape{"DeepSeek-V3", 61, 3, 256, 8, 500}}) {
    if (override_requests > 0) shape.requests = override_requests;
    const fs::path dir = test::scratch_dir(std::string("import-bench-") + shape.name);
    std::mt19937_64 rng(1);
    std::vector<Request> requests;
    for (int64_t r = 0; r < shape.requests; ++r) requests.push_back(make_request(shape, rng));
    const fs::path capture = write_capture(requests, dir);
    const fs::path config = write_config(shape, dir);
    // One untimed round of each pays for what the process does once (code paged in, arenas grown).
    {
      const std::vector<Request> few(requests.begin(), requests.begin() + std::min<int64_t>(50, shape.requests));
      record(shape, few, dir / "warm-record.db");
      fs::create_directories(dir / "warm");
      import(write_capture(few, dir / "warm"), config, dir / "warm-import.db");
    }
    const Figures recorded = record(shape, requests, dir / "recorded.db");
    const Figures imported = import(capture, config, dir / "imported.db");
    const double parse_s = parse_only(capture);
    EXPECT_EQ(recorded.routing_rows, imported.routing_rows);
    auto rate = [](const Figures& f) { return static_cast<double>(f.routing_rows) / f.cpu_s / 1e6; };
    std::printf("%s: %lld requests, %lld routing rows each way\n", shape.name,
                static_cast<long long>(shape.requests), static_cast<long long>(recorded.routing_rows));
    std::printf("  recorder: %.3f s CPU = %.3f us per routing row = %.2f M rows/s\n", recorded.cpu_s,
                recorded.cpu_s * 1e6 / static_cast<double>(recorded.routing_rows), rate(recorded));
    std::printf("  importer: %.3f s CPU = %.3f us per routing row = %.2f M rows/s (JSON + base64 alone %.3f s)\n",
                imported.cpu_s, imported.cpu_s * 1e6 / static_cast<double>(imported.routing_rows), rate(imported),
                parse_s);
  }
}

}  // namespace import_bench
}  // namespace moescope
