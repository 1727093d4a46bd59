#include "sessions/reader.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "sessions/float16.h"
#include "sessions/run_check.h"
#include "sessions/schema.h"
#include "sessions/session_file.h"

namespace moescope::sessions {
namespace {

// Bounds on dimensions read from a file, far above any real model (DeepSeek-V3: 256 experts,
// top-8, 61 layers) but small enough that nothing sized by them can exhaust memory on its own.
constexpr int32_t kMaxExperts = 1 << 16;
constexpr size_t kMaxLayers = 1 << 12;
constexpr int32_t kMaxLayerIndex = 1 << 20;

[[noreturn]] void bad_run(const std::filesystem::path& path, int64_t run_id, const std::string& what) {
  throw InputError(path.string() + ": run " + std::to_string(run_id) + " " + what);
}

template <typename T>
std::vector<T> parse_json_array(const std::filesystem::path& path, int64_t run_id, const std::string& column,
                                const std::string& text) {
  try {
    auto json = nlohmann::json::parse(text);
    if (!json.is_array()) bad_run(path, run_id, "has a malformed " + column + " (expected a JSON array)");
    return json.get<std::vector<T>>();
  } catch (const nlohmann::json::exception&) {
    bad_run(path, run_id, "has a malformed " + column + " (expected a JSON array of numbers)");
  }
}

const char* kRunColumns =
    "SELECT r.id, r.session_id, r.model_id, r.status, coalesce(r.error, ''), r.backend, r.device, "
    "r.settings_json,"
    " r.started_at, coalesce(r.finished_at, ''), m.path, m.model_type, coalesce(p.text, ''), coalesce(p.tag, "
    "''),"
    " r.moe_layers, r.n_experts, r.top_k, r.capacity_factors, r.n_prompt_tokens, r.n_generated_tokens,"
    " coalesce(r.prefill_us, 0), coalesce(r.decode_us, 0), coalesce(r.total_us, 0),"
    " CASE WHEN json_valid(r.settings_json) AND json_type(r.settings_json) = 'object'"
    " THEN json_extract(r.settings_json, '$.empty_slots') END"
    " FROM runs r LEFT JOIN models m ON m.id = r.model_id LEFT JOIN prompts p ON p.id = r.prompt_id";

// `check_row`: false when the caller knows the runs row passes check_run_row (runs()).
RunSummary read_run(Connection& connection, const Statement& row, bool check_row = true) {
  const std::filesystem::path& path = connection.path();
  RunSummary run;
  run.id = row.column_int(0);
  if (check_row) check_run_row(connection, run.id);
  run.session_id = row.column_int(1);
  run.model_id = row.column_int(2);
  run.status = row.column_text(3);
  run.error = row.column_text(4);
  run.backend = row.column_text(5);
  run.device = row.column_text(6);
  run.settings_json = row.column_text(7);
  run.started_at = row.column_text(8);
  run.finished_at = row.column_text(9);
  run.model_path = row.column_text(10);
  run.model_type = row.column_text(11);
  run.prompt_text = row.column_text(12);
  run.tag = row.column_text(13);
  run.moe_layers = parse_json_array<int32_t>(path, run.id, "moe_layers", row.column_text(14));
  int64_t n_experts = row.column_int(15);
  int64_t top_k = row.column_int(16);
  run.capacity_factors = parse_json_array<double>(path, run.id, "capacity_factors", row.column_text(17));
  run.n_prompt_tokens = row.column_int(18);
  run.n_generated_tokens = row.column_int(19);
  run.prefill_us = row.column_double(20);
  run.decode_us = row.column_double(21);
  run.total_us = row.column_double(22);
  run.empty_slots = row.column_type(23) == SQLITE_INTEGER && row.column_int(23) == 1;  // JSON true

  if (n_experts < 1 || n_experts > kMaxExperts || top_k < 1 || top_k > n_experts) {
    bad_run(path, run.id,
            "has impossible routing dimensions (n_experts " + std::to_string(n_experts) + ", top_k " +
                std::to_string(top_k) + ")");
  }
  run.n_experts = static_cast<int32_t>(n_experts);
  run.top_k = static_cast<int32_t>(top_k);
  if (run.moe_layers.size() > kMaxLayers) bad_run(path, run.id, "lists too many MoE layers");
  for (size_t i = 0; i < run.moe_layers.size(); ++i) {
    if (run.moe_layers[i] < 0 || run.moe_layers[i] > kMaxLayerIndex ||
        (i > 0 && run.moe_layers[i] <= run.moe_layers[i - 1])) {
      bad_run(path, run.id, "has malformed moe_layers (expected ascending layer indexes)");
    }
  }
  return run;
}

}  // namespace

SessionReader::SessionReader(const std::filesystem::path& path)
    : connection_(open_session(path, OpenMode::read)) {}

std::vector<RunSummary> SessionReader::runs() {
  std::vector<RunSummary> result;
  // Only the first run the one-query check refuses is checked on its own (and throws its message),
  // in id order, so the first error is the one a per-run check would give.
  const std::optional<int64_t> first_bad = first_run_with_bad_row(connection_);
  Statement query = connection_.prepare(std::string(kRunColumns) + " ORDER BY r.id");
  while (query.step()) {
    const bool check_row = first_bad && query.column_int(0) == *first_bad;
    result.push_back(read_run(connection_, query, check_row));
  }
  return result;
}

std::vector<RunListing> SessionReader::run_listing() {
  std::vector<RunListing> result;
  Statement query = connection_.prepare(
      "SELECT r.id, r.status, coalesce(p.tag, ''), coalesce(p.text, ''), r.backend, r.device, r.n_prompt_tokens,"
      " r.n_generated_tokens FROM runs r LEFT JOIN prompts p ON p.id = r.prompt_id ORDER BY r.id");
  while (query.step()) {
    RunListing& run = result.emplace_back();
    run.id = query.column_int(0);
    run.status = query.column_text(1);
    run.tag = query.column_text(2);
    run.prompt_text = query.column_text(3);
    run.backend = query.column_text(4);
    run.device = query.column_text(5);
    run.n_prompt_tokens = query.column_int(6);
    run.n_generated_tokens = query.column_int(7);
  }
  return result;
}

RunSummary SessionReader::run(int64_t run_id) {
  Statement query = connection_.prepare(std::string(kRunColumns) + " WHERE r.id = ?");
  query.bind(1, run_id);
  if (!query.step())
    throw InputError(path().string() + ": no run " + std::to_string(run_id) + " in this session file");
  return read_run(connection_, query);
}

void SessionReader::check_run(int64_t run_id) {
  if (checked_runs_.contains(run_id)) return;
  check_run_rows(connection_, run(run_id));
  checked_runs_.insert(run_id);
}

std::vector<int64_t> SessionReader::runs_with_tag(const std::string& tag) {
  // Every runs row is checked in one query first (the first bad one throws its line): a run
  // whose prompt row is gone is refused, not left out of its tag.
  if (const std::optional<int64_t> bad = first_run_with_bad_row(connection_)) check_run_row(connection_, *bad);
  std::vector<int64_t> ids;
  Statement query = connection_.prepare(
      "SELECT r.id FROM runs r LEFT JOIN prompts p ON p.id = r.prompt_id WHERE coalesce(p.tag, '') = ?"
      " AND r.status = 'complete' ORDER BY r.id");
  query.bind(1, tag);
  while (query.step()) ids.push_back(query.column_int(0));
  return ids;
}

std::vector<TokenRecord> SessionReader::tokens(int64_t run_id) {
  check_run(run_id);
  std::vector<TokenRecord> tokens;
  Statement query = connection_.prepare(
      "SELECT position, token_id, display_text, is_prompt, logprob, kl_to_dropless FROM tokens WHERE run_id "
      "= ?"
      " ORDER BY position");
  query.bind(1, run_id);
  while (query.step()) {
    TokenRecord& token = tokens.emplace_back();
    token.position = query.column_int(0);
    token.token_id = static_cast<int32_t>(query.column_int(1));
    token.display_text = query.column_text(2);
    token.is_prompt = query.column_int(3) != 0;
    if (!query.column_is_null(4)) token.logprob = query.column_double(4);
    if (!query.column_is_null(5)) token.kl_to_dropless = query.column_double(5);
  }
  return tokens;
}

analysis::RoutingArrays SessionReader::routing(int64_t run_id, RoutingLoad load) {
  const RunSummary summary = run(run_id);
  check_run(run_id);
  if (run_id < 1 || run_id > kMaxRunId) bad_run(path(), run_id, "has an id outside the session format's 1.." + std::to_string(kMaxRunId));
  analysis::RoutingArrays arrays;
  arrays.n_layers = static_cast<int32_t>(summary.moe_layers.size());
  arrays.n_experts = summary.n_experts;
  arrays.top_k = summary.top_k;
  arrays.layer_ids = summary.moe_layers;
  const int32_t n_layers = arrays.n_layers;
  const int32_t k = arrays.top_k;
  // int32 sizes in arrays; 64-bit arithmetic here.
  const size_t n_experts = static_cast<size_t>(arrays.n_experts);
  if (n_layers == 0) {
    analysis::validate(arrays);
    return arrays;
  }
  std::vector<int32_t> slot_of_layer(static_cast<size_t>(summary.moe_layers.back()) + 1, -1);
  for (int32_t slot = 0; slot < n_layers; ++slot)
    slot_of_layer[static_cast<size_t>(summary.moe_layers[slot])] = slot;

  // The run's length from its last routing row (one B-tree seek), trusted only as far as the file
  // can hold that many rows: every buffer below is sized from it, so a hostile value must not
  // allocate more than the file's own size justifies.
  int64_t n_tokens = 0;
  {
    Statement last = connection_.prepare(
        "SELECT position FROM routing WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1");
    last.bind(1, routing_row_id(run_id, 0, 0)).bind(2, routing_row_id(run_id + 1, 0, 0) - 1);
    if (last.step() && !last.column_is_null(0)) n_tokens = last.column_int(0) + 1;
  }
  // Committed data may still sit in the write-ahead log beside the file.
  int64_t file_bytes = 0;
  for (const auto& file : {path(), std::filesystem::path(path().string() + "-wal")}) {
    std::error_code size_error;
    auto size = std::filesystem::file_size(file, size_error);
    if (!size_error) file_bytes += static_cast<int64_t>(size);
  }
  if (n_tokens < 0 || n_tokens > INT32_MAX || n_tokens * n_layers > file_bytes / 8) {
    bad_run(path(), run_id, "claims " + std::to_string(n_tokens) + " tokens, more than the file can hold");
  }
  arrays.n_tokens = static_cast<int32_t>(n_tokens);
  const int64_t n_rows = n_tokens * n_layers;
  const size_t n_assign = static_cast<size_t>(checked_mul(n_rows, k, "routing"));
  const size_t blob_bytes = n_experts * 2;
  // Score vectors are float16 BLOBs inside the rows, so they cannot be larger than the file.
  const bool scores_fit = static_cast<int64_t>(blob_bytes) * n_rows <= file_bytes;
  arrays.topk_ids.resize(n_assign);
  arrays.topk_weights.resize(n_assign);
  arrays.step_of_token.assign(static_cast<size_t>(n_tokens), 0);
  bool all_scores = load.scores && scores_fit && n_rows > 0;
  bool all_logits = load.router_logits && scores_fit && n_rows > 0;
  if (all_scores) arrays.scores.resize(static_cast<size_t>(n_rows) * n_experts);
  if (all_logits) arrays.router_logits.resize(static_cast<size_t>(n_rows) * n_experts);

  // Rows arrive in key order (position, layer): for a complete run that is exactly the dense
  // (token, layer) order, so each row must be the next index; anything else is a damaged run.
  {
    std::string columns = "position, layer, step";
    for (int32_t r = 0; r < k; ++r) columns += ", expert_" + std::to_string(r);
    for (int32_t r = 0; r < k; ++r) columns += ", weight_" + std::to_string(r);
    columns += load.scores ? ", scores" : ", NULL";
    columns += load.router_logits ? ", router_logits" : ", NULL";
    // The run's rows are one id range, in (position, layer) order (schema.cpp).
    Statement query = connection_.prepare("SELECT " + columns + " FROM routing WHERE id BETWEEN ? AND ? ORDER BY id");
    query.bind(1, routing_row_id(run_id, 0, 0)).bind(2, routing_row_id(run_id + 1, 0, 0) - 1);
    const int scores_column = 3 + 2 * k;
    int64_t index = 0;
    while (query.step()) {
      int64_t position = query.column_int(0);
      int64_t layer = query.column_int(1);
      int64_t slot =
          layer >= 0 && layer < static_cast<int64_t>(slot_of_layer.size()) ? slot_of_layer[layer] : -1;
      if (index >= n_rows || position != index / n_layers || slot != index % n_layers) {
        bad_run(path(), run_id,
                "has incomplete or malformed routing rows near position " + std::to_string(position) +
                    ", layer " + std::to_string(layer));
      }
      const int32_t t = static_cast<int32_t>(position);
      const int32_t s = static_cast<int32_t>(slot);
      if (s == 0) arrays.step_of_token[static_cast<size_t>(t)] = query.column_int(2);
      const size_t topk_at = arrays.topk_offset(s, t);
      for (int32_t r = 0; r < k; ++r) {
        if (query.column_is_null(3 + r)) {
          if (!summary.empty_slots) bad_run(path(), run_id, "has a routing row with fewer than top_k experts");
          arrays.topk_ids[topk_at + r] = analysis::kNoExpert;  // no expert took the token in this slot
          arrays.topk_weights[topk_at + r] = 0.0f;
          continue;
        }
        arrays.topk_ids[topk_at + r] = static_cast<int32_t>(query.column_int(3 + r));
        arrays.topk_weights[topk_at + r] = static_cast<float>(query.column_double(3 + k + r));
      }
      if (all_scores) {
        auto blob = query.column_blob(scores_column);
        if (blob.size() == blob_bytes) {
          decode_float16_le(blob, std::span(arrays.scores).subspan(arrays.score_offset(s, t), n_experts));
        } else {
          all_scores = false;
        }
      }
      if (all_logits) {
        auto blob = query.column_blob(scores_column + 1);
        if (blob.size() == blob_bytes) {
          decode_float16_le(blob,
                            std::span(arrays.router_logits).subspan(arrays.score_offset(s, t), n_experts));
        } else {
          all_logits = false;
        }
      }
      ++index;
    }
    if (index != n_rows) {
      bad_run(path(), run_id,
              "has " + std::to_string(index) + " routing rows, expected " + std::to_string(n_rows) +
                  " (every layer of positions 0.." + std::to_string(n_tokens - 1) + ")");
    }
  }
  // A run recorded without scores (or with some rows missing them) has none.
  if (!all_scores) arrays.scores = {};
  if (!all_logits) arrays.router_logits = {};

  arrays.token_ids.assign(static_cast<size_t>(n_tokens), -1);
  Statement token_query =
      connection_.prepare("SELECT position, token_id FROM tokens WHERE run_id = ? AND position < ?");
  token_query.bind(1, run_id).bind(2, static_cast<int64_t>(n_tokens));
  while (token_query.step()) {
    // Bounds checked here, not only in SQL: in a damaged file the filter and the value read can
    // disagree (quick_check does not compare indexes with their tables), and a fuzzed file got a
    // position past the run through `position < ?` (a write past token_ids before this check).
    int64_t position = token_query.column_int(0);
    if (position >= 0 && position < n_tokens)
      arrays.token_ids[static_cast<size_t>(position)] = static_cast<int32_t>(token_query.column_int(1));
  }
  try {
    analysis::validate(arrays);
  } catch (const InputError& e) {
    bad_run(path(), run_id, std::string("has inconsistent routing: ") + e.what());
  }
  return arrays;
}

ExpertHits SessionReader::expert_hits(int64_t run_id) {
  const RunSummary summary = run(run_id);
  check_run(run_id);
  ExpertHits result;
  result.layer_ids = summary.moe_layers;
  result.n_experts = summary.n_experts;
  size_t cells = summary.moe_layers.size() * static_cast<size_t>(summary.n_experts);
  result.hits.assign(cells, 0);
  result.weight_sum.assign(cells, 0.0);
  Statement query =
      connection_.prepare("SELECT layer, expert, hits, weight_sum FROM expert_hits WHERE run_id = ?");
  query.bind(1, run_id);
  while (query.step()) {
    auto slot = std::lower_bound(result.layer_ids.begin(), result.layer_ids.end(), query.column_int(0));
    int64_t expert = query.column_int(1);
    if (slot == result.layer_ids.end() || *slot != query.column_int(0) || expert < 0 ||
        expert >= result.n_experts) {
      bad_run(path(), run_id, "has an expert_hits row outside its layers and experts");
    }
    size_t i = static_cast<size_t>(slot - result.layer_ids.begin()) * static_cast<size_t>(result.n_experts) +
               static_cast<size_t>(expert);
    result.hits[i] = query.column_int(2);
    result.weight_sum[i] = query.column_double(3);
  }
  return result;
}

OverflowTable SessionReader::capacity_overflow(int64_t run_id) {
  const RunSummary summary = run(run_id);
  check_run(run_id);
  OverflowTable table;
  table.capacity_factors = summary.capacity_factors;
  table.layer_ids = summary.moe_layers;
  table.n_experts = summary.n_experts;
  if (table.capacity_factors.size() > 64) bad_run(path(), run_id, "lists too many capacity factors");
  size_t cells =
      table.capacity_factors.size() * table.layer_ids.size() * static_cast<size_t>(table.n_experts);
  table.assigned.assign(cells, 0);
  table.capacity.assign(cells, 0);
  table.overflow.assign(cells, 0);
  Statement query = connection_.prepare(
      "SELECT layer, expert, capacity_factor, assigned, capacity, overflow FROM capacity_overflow WHERE "
      "run_id = ?");
  query.bind(1, run_id);
  while (query.step()) {
    auto slot = std::lower_bound(table.layer_ids.begin(), table.layer_ids.end(), query.column_int(0));
    int64_t expert = query.column_int(1);
    auto factor =
        std::find(table.capacity_factors.begin(), table.capacity_factors.end(), query.column_double(2));
    if (slot == table.layer_ids.end() || *slot != query.column_int(0) || expert < 0 ||
        expert >= table.n_experts || factor == table.capacity_factors.end()) {
      bad_run(path(), run_id, "has a capacity_overflow row outside its layers, experts and factors");
    }
    size_t i = (static_cast<size_t>(factor - table.capacity_factors.begin()) * table.layer_ids.size() +
                static_cast<size_t>(slot - table.layer_ids.begin())) *
                   static_cast<size_t>(table.n_experts) +
               static_cast<size_t>(expert);
    table.assigned[i] = query.column_int(3);
    table.capacity[i] = query.column_int(4);
    table.overflow[i] = query.column_int(5);
  }
  return table;
}

std::vector<StepRow> SessionReader::steps(int64_t run_id) {
  check_run(run_id);
  std::vector<StepRow> rows;
  Statement query = connection_.prepare(
      "SELECT step, first_position, n_tokens, start_us, duration_us FROM steps WHERE run_id = ? ORDER BY "
      "step");
  query.bind(1, run_id);
  while (query.step()) {
    rows.push_back({query.column_int(0), query.column_int(1), static_cast<int32_t>(query.column_int(2)),
                    query.column_double(3), query.column_double(4)});
  }
  return rows;
}

std::vector<TimingRow> SessionReader::timings(int64_t run_id) {
  check_run(run_id);
  std::vector<TimingRow> rows;
  Statement query = connection_.prepare(
      "SELECT step, layer, phase, start_us, duration_us FROM timings WHERE run_id = ? ORDER BY step, "
      "start_us, rowid");
  query.bind(1, run_id);
  while (query.step()) {
    rows.push_back({query.column_int(0), static_cast<int32_t>(query.column_int(1)), query.column_text(2),
                    query.column_double(3), query.column_double(4)});
  }
  return rows;
}

std::vector<AllToAllStep> SessionReader::all_to_all(int64_t run_id) {
  check_run(run_id);
  std::vector<AllToAllStep> exchanges;
  Statement heads = connection_.prepare(
      "SELECT step, layer, n_ranks, measured_us, modeled_us FROM all_to_all_steps WHERE run_id = ? ORDER BY "
      "step, layer");
  heads.bind(1, run_id);
  Statement cells = connection_.prepare(
      "SELECT src_rank, dst_rank, tokens, bytes FROM all_to_all WHERE run_id = ? AND step = ? AND layer = ?");
  while (heads.step()) {
    AllToAllStep& exchange = exchanges.emplace_back();
    exchange.step = heads.column_int(0);
    exchange.layer = static_cast<int32_t>(heads.column_int(1));
    int64_t n_ranks = heads.column_int(2);
    if (n_ranks < 1 || n_ranks > 4096)
      bad_run(path(), run_id, "has an all-to-all step with an impossible rank count");
    exchange.n_ranks = static_cast<int32_t>(n_ranks);
    exchange.measured_us = heads.column_double(3);
    exchange.modeled_us = heads.column_double(4);
    size_t n_cells = static_cast<size_t>(n_ranks * n_ranks);
    exchange.tokens.assign(n_cells, 0);
    exchange.bytes.assign(n_cells, 0);
    cells.reset();
    cells.bind(1, run_id).bind(2, exchange.step).bind(3, static_cast<int64_t>(exchange.layer));
    while (cells.step()) {
      int64_t src = cells.column_int(0);
      int64_t dst = cells.column_int(1);
      if (src < 0 || src >= n_ranks || dst < 0 || dst >= n_ranks) {
        bad_run(path(), run_id, "has an all-to-all cell outside its ranks");
      }
      exchange.tokens[static_cast<size_t>(src * n_ranks + dst)] = cells.column_int(2);
      exchange.bytes[static_cast<size_t>(src * n_ranks + dst)] = cells.column_int(3);
    }
  }
  return exchanges;
}

std::vector<OffloadEvent> SessionReader::offload(int64_t run_id) {
  check_run(run_id);  // types, ranges and layers of every row (run_check.cpp)
  std::vector<OffloadEvent> rows;
  Statement query = connection_.prepare(
      "SELECT step, layer, lookups, hits, prefetched, prefetch_hits, bytes_copied, copy_start_us, copy_us,"
      " stall_start_us, stall_us FROM offload_steps WHERE run_id = ? ORDER BY step, layer");
  query.bind(1, run_id);
  while (query.step()) {
    OffloadEvent& row = rows.emplace_back();
    row.step = query.column_int(0);
    row.layer = static_cast<int32_t>(query.column_int(1));
    row.lookups = static_cast<int32_t>(query.column_int(2));
    row.hits = static_cast<int32_t>(query.column_int(3));
    row.prefetched = static_cast<int32_t>(query.column_int(4));
    row.prefetch_hits = static_cast<int32_t>(query.column_int(5));
    row.bytes_copied = query.column_int(6);
    row.copy_start_us = query.column_double(7);
    row.copy_us = query.column_double(8);
    row.stall_start_us = query.column_double(9);
    row.stall_us = query.column_double(10);
    if (row.hits > row.lookups || row.prefetch_hits > row.hits || row.prefetch_hits > row.prefetched) {
      bad_run(path(), run_id,
              "has an offload_steps row at step " + std::to_string(row.step) + ", layer " + std::to_string(row.layer) +
                  " with more hits than lookups or more prefetch hits than hits or prefetched experts (lookups " +
                  std::to_string(row.lookups) + ", hits " + std::to_string(row.hits) + ", prefetched " +
                  std::to_string(row.prefetched) + ", prefetch_hits " + std::to_string(row.prefetch_hits) + ")");
    }
  }
  return rows;
}

bool ImportInfo::has(const std::string& field) const {
  return std::find(captured.begin(), captured.end(), field) != captured.end();
}

std::optional<ImportInfo> SessionReader::import_info(int64_t run_id) {
  Statement query = connection_.prepare(
      "SELECT engine, engine_version, source_file, request_id, captured, not_captured FROM imported_runs WHERE "
      "run_id = ?");
  query.bind(1, run_id);
  if (!query.step()) return std::nullopt;
  ImportInfo info;
  info.engine = query.column_text(0);
  info.engine_version = query.column_text(1);
  info.source_file = query.column_text(2);
  info.request_id = query.column_text(3);
  for (auto [column, out] : {std::pair{4, &info.captured}, std::pair{5, &info.not_captured}}) {
    bool ok = false;
    try {
      auto json = nlohmann::json::parse(query.column_text(column));
      if (json.is_array() && json.size() <= 64) {
        *out = json.get<std::vector<std::string>>();
        ok = true;
      }
    } catch (const nlohmann::json::exception&) {
    }
    if (!ok) bad_run(path(), run_id, "has a malformed imported_runs row (expected JSON arrays of field names)");
  }
  return info;
}

TagExpertLoad SessionReader::tag_expert_shape(const std::string& tag) {
  TagExpertLoad load;
  auto ids = runs_with_tag(tag);
  if (ids.empty()) return load;
  RunSummary first = run(ids.front());
  load.layer_ids = first.moe_layers;
  load.n_experts = first.n_experts;
  load.n_runs = static_cast<int64_t>(ids.size());
  if (load.n_experts < 1 || load.n_experts > kMaxExperts || load.layer_ids.size() > kMaxLayers)
    bad_run(path(), first.id, "has implausible dimensions for an aggregate");
  load.hits.assign(load.layer_ids.size() * static_cast<size_t>(load.n_experts), 0);
  return load;
}

TagExpertLoad SessionReader::tag_expert_load(const std::string& tag) {
  TagExpertLoad load = tag_expert_shape(tag);
  if (load.n_runs == 0) return load;
  // Summed here rather than by GROUP BY, whose temporary B-tree took 1.3 s of CPU for 50,000
  // runs' 800,000 rows (0.8 s streamed).
  Statement query = connection_.prepare(
      "SELECT h.layer, h.expert, h.hits FROM expert_hits h JOIN runs r ON r.id = h.run_id LEFT JOIN prompts p ON "
      "p.id = r.prompt_id WHERE coalesce(p.tag, '') = ? AND r.status = 'complete'");
  query.bind(1, tag);
  while (query.step()) {
    auto slot = std::find(load.layer_ids.begin(), load.layer_ids.end(), query.column_int(0));
    const int64_t expert = query.column_int(1);
    if (slot == load.layer_ids.end() || expert < 0 || expert >= load.n_experts) {
      throw InputError(path().string() + ": runs tagged '" + tag +
                       "' differ in layers or experts; aggregate them per model");
    }
    int64_t& cell = load.hits[static_cast<size_t>(slot - load.layer_ids.begin()) * static_cast<size_t>(load.n_experts) +
                              static_cast<size_t>(expert)];
    if (__builtin_add_overflow(cell, query.column_int(2), &cell)) {
      throw InputError(path().string() + ": expert hits of the runs tagged '" + tag + "' overflow 64 bits");
    }
  }
  return load;
}

std::vector<RunExpertLoad> SessionReader::run_expert_loads(const std::string& tag, const TagExpertLoad& shape) {
  std::vector<RunExpertLoad> loads;
  const size_t n_experts = static_cast<size_t>(shape.n_experts);
  Statement query = connection_.prepare(
      "SELECT h.run_id, h.layer, h.expert, h.hits FROM expert_hits h JOIN runs r ON r.id = h.run_id LEFT JOIN prompts p ON "
      "p.id = r.prompt_id WHERE coalesce(p.tag, '') = ? AND r.status = 'complete' ORDER BY h.run_id");
  query.bind(1, tag);
  while (query.step()) {
    const int64_t run_id = query.column_int(0);
    if (loads.empty() || loads.back().run_id != run_id) {
      loads.push_back({run_id, std::vector<int64_t>(shape.layer_ids.size() * n_experts, 0)});
    }
    auto slot = std::find(shape.layer_ids.begin(), shape.layer_ids.end(), query.column_int(1));
    const int64_t expert = query.column_int(2);
    if (slot == shape.layer_ids.end() || expert < 0 || expert >= shape.n_experts) {
      throw InputError(path().string() + ": runs tagged '" + tag +
                       "' differ in layers or experts; aggregate them per model");
    }
    loads.back().hits[static_cast<size_t>(slot - shape.layer_ids.begin()) * n_experts + static_cast<size_t>(expert)] =
        query.column_int(3);
  }
  return loads;
}

}  // namespace moescope::sessions
