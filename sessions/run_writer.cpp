#include "sessions/run_writer.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/analysis/capacity.h"
#include "core/analysis/routing_arrays.h"
#include "sessions/array_rows_table.h"
#include "sessions/routing_rows_table.h"
#include "sessions/schema.h"

namespace moescope::sessions {
namespace {

size_t cell(int32_t slot, int32_t n_experts, int32_t expert) {
  return static_cast<size_t>(slot) * static_cast<size_t>(n_experts) + static_cast<size_t>(expert);
}

}  // namespace

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

RunStatements::RunStatements(Connection& connection)
    : insert_prompt(connection.prepare("INSERT OR IGNORE INTO prompts(text, tag) VALUES(?, ?)")),
      find_prompt(connection.prepare("SELECT id FROM prompts WHERE text = ? AND tag = ?")),
      insert_run(connection.prepare(
          "INSERT INTO runs(session_id, model_id, prompt_id, status, backend, device, settings_json, moe_layers,"
          " n_experts, top_k, capacity_factors, started_at) VALUES(?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?, "
          "?)")),
      insert_step(connection.prepare(
          "INSERT INTO steps(run_id, step, first_position, n_tokens, start_us, duration_us) VALUES(?, ?, ?, ?, "
          "?, ?)")),
      // A step's rows in one statement, produced from its arrays by the routing-rows table (which the
      // recorder registered on this connection).
      insert_routing(connection.prepare(
          "INSERT INTO routing(id, run_id, position, layer, step, expert_0, expert_1, expert_2, expert_3,"
          " expert_4, expert_5, expert_6, expert_7, weight_0, weight_1, weight_2, weight_3, weight_4, weight_5,"
          " weight_6, weight_7, dropped_mask, scores, router_logits)"
          " SELECT id, run_id, position, layer, step, expert_0, expert_1, expert_2, expert_3, expert_4, expert_5,"
          " expert_6, expert_7, weight_0, weight_1, weight_2, weight_3, weight_4, weight_5, weight_6, weight_7,"
          " dropped_mask, scores, router_logits FROM moescope_routing_rows(?1)")),
      insert_timing(connection.prepare(
          "INSERT INTO timings(run_id, step, layer, phase, start_us, duration_us) VALUES(?, ?, ?, ?, ?, ?)")),
      insert_exchange(connection.prepare(
          "INSERT INTO all_to_all_steps(run_id, step, layer, n_ranks, measured_us, modeled_us) VALUES(?, ?, ?, "
          "?, ?, ?)")),
      insert_exchange_cell(connection.prepare(
          "INSERT INTO all_to_all(run_id, step, layer, src_rank, dst_rank, tokens, bytes) VALUES(?, ?, ?, ?, ?, "
          "?, ?)")),
      insert_offload(connection.prepare(
          "INSERT INTO offload_steps(run_id, step, layer, lookups, hits, prefetched, prefetch_hits, bytes_copied,"
          " copy_start_us, copy_us, stall_start_us, stall_us) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
      // A run's tokens, hits and overflow in one statement each, from the writer's arrays (the
      // array-rows table, registered on this connection with the routing-rows one).
      insert_tokens(connection.prepare(
          "INSERT INTO tokens(run_id, position, token_id, display_text, is_prompt, logprob, kl_to_dropless)"
          " SELECT c0, c1, c2, c3, c4, c5, c6 FROM moescope_array_rows(?1)")),
      insert_hits(connection.prepare("INSERT INTO expert_hits(run_id, layer, expert, hits, weight_sum)"
                                     " SELECT c0, c1, c2, c3, c4 FROM moescope_array_rows(?1)")),
      insert_overflow(connection.prepare(
          "INSERT INTO capacity_overflow(run_id, layer, expert, capacity_factor, assigned, capacity, overflow)"
          " SELECT c0, c1, c2, c3, c4, c5, c6 FROM moescope_array_rows(?1)")),
      finish_run(connection.prepare(
          "UPDATE runs SET status = ?, error = ?, finished_at = ?, n_prompt_tokens = ?, n_generated_tokens = ?,"
          " prefill_us = ?, decode_us = ?, total_us = ? WHERE id = ?")) {}

RunWriter::RunWriter(Connection& connection, RunStatements& statements, int64_t session_id, const RunInfo& info,
                     const RecorderOptions& options, RunScope scope)
    : sql_(statements), options_(options), info_(info) {
  if (scope == RunScope::own_transaction) transaction_.emplace(connection);
  if (info.n_experts < 1 || info.top_k < 1 || info.top_k > info.n_experts) {
    fail_input("run to record: need 1 <= top_k <= n_experts, got top_k " + std::to_string(info.top_k) +
               " and n_experts " + std::to_string(info.n_experts));
  }
  if (info.top_k > kMaxTopK) {
    fail_input("run to record: top_k " + std::to_string(info.top_k) + " exceeds the " +
               std::to_string(kMaxTopK) + " expert columns of the session format");
  }
  for (size_t slot = 0; slot < info.moe_layers.size(); ++slot) {
    const int32_t layer = info.moe_layers[slot];
    if (layer < 0 || layer > kMaxRoutingLayer) {
      fail_input("run to record: MoE layer index " + std::to_string(layer) + " outside the session format's 0.." +
                 std::to_string(kMaxRoutingLayer));
    }
    slot_of_layer_[layer] = static_cast<int32_t>(slot);
  }

  std::optional<int64_t> prompt_id;
  if (!info.prompt_text.empty() || !info.tag.empty()) {
    sql_.insert_prompt.bind(1, info.prompt_text).bind(2, info.tag).run();
    Statement& find = sql_.find_prompt;
    find.bind(1, info.prompt_text).bind(2, info.tag);
    if (find.step()) prompt_id = find.column_int(0);
    find.reset();  // shared by the next run
  }

  Statement& insert_run = sql_.insert_run;
  insert_run.bind(1, session_id).bind(2, info.model_id);
  if (prompt_id)
    insert_run.bind(3, *prompt_id);
  else
    insert_run.bind_null(3);
  insert_run.bind(4, info.backend).bind(5, info.device);
  std::string settings = info.settings_json.empty() ? std::string("{}") : info.settings_json;
  if (info.empty_slots) {
    // Readers take NULL expert slots for "no expert" only in runs that say so (reader.h).
    nlohmann::json object = nlohmann::json::parse(settings, nullptr, false);
    if (!object.is_object()) fail_input("run to record: settings_json is not a JSON object");
    object["empty_slots"] = true;
    settings = object.dump();
  }
  insert_run.bind(6, settings);
  insert_run.bind(7, nlohmann::json(info.moe_layers).dump());
  insert_run.bind(8, info.n_experts).bind(9, info.top_k);
  insert_run.bind(10, nlohmann::json(options.capacity_factors).dump());
  insert_run.bind(11, utc_now());
  insert_run.run();
  run_id_ = connection.last_insert_rowid();
  if (run_id_ > kMaxRunId) {
    fail_input("session file " + connection.path().string() + ": run id " + std::to_string(run_id_) +
               " exceeds the session format's " + std::to_string(kMaxRunId));
  }

  size_t cells = info.moe_layers.size() * static_cast<size_t>(info.n_experts);
  cell_layer_.resize(cells);
  cell_expert_.resize(cells);
  for (size_t i = 0; i < cells; ++i) {
    cell_layer_[i] = info.moe_layers[i / static_cast<size_t>(info.n_experts)];
    cell_expert_[i] = static_cast<int32_t>(i % static_cast<size_t>(info.n_experts));
  }
  hits_.assign(cells, 0);
  weight_sum_.assign(cells, 0.0);
  size_t factor_cells = cells * options.capacity_factors.size();
  assigned_.assign(factor_cells, 0);
  capacity_.assign(factor_cells, 0);
  overflow_.assign(factor_cells, 0);
  step_counts_.assign(static_cast<size_t>(info.n_experts), 0);
}

RunWriter::~RunWriter() = default;

void RunWriter::check_layer(const LayerRouting& layer, const StepRecord& step) const {
  auto fail = [&](const std::string& what) {
    fail_input("routing event of step " + std::to_string(step.info.step) + ", layer " +
               std::to_string(layer.layer) + ": " + what);
  };
  if (!slot_of_layer_.contains(layer.layer)) fail("not one of the model's MoE layers");
  if (layer.n_experts != info_.n_experts || layer.top_k != info_.top_k) {
    fail("n_experts/top_k " + std::to_string(layer.n_experts) + "/" + std::to_string(layer.top_k) +
         " differ from the run's " + std::to_string(info_.n_experts) + "/" + std::to_string(info_.top_k));
  }
  if (layer.first_position != step.info.first_position || layer.n_tokens != step.info.n_tokens) {
    fail("covers positions " + std::to_string(layer.first_position) + "+" + std::to_string(layer.n_tokens) +
         ", expected the step's " + std::to_string(step.info.first_position) + "+" +
         std::to_string(step.info.n_tokens));
  }
  if (layer.first_position < 0 || layer.n_tokens < 0 ||
      int64_t{layer.first_position} + layer.n_tokens - 1 > kMaxRoutingPosition) {
    fail("positions " + std::to_string(layer.first_position) + "+" + std::to_string(layer.n_tokens) +
         " outside the session format's 0.." + std::to_string(kMaxRoutingPosition));
  }
  size_t n_assign = static_cast<size_t>(layer.n_tokens) * static_cast<size_t>(layer.top_k);
  size_t n_scores = static_cast<size_t>(layer.n_tokens) * static_cast<size_t>(layer.n_experts);
  if (layer.topk_ids.size() != n_assign || layer.topk_weights.size() != n_assign)
    fail("top-k arrays have the wrong size");
  if (!layer.dropped.empty() && layer.dropped.size() != n_assign) fail("dropped mask has the wrong size");
  if (!layer.scores.empty() && layer.scores.size() != n_scores) fail("scores have the wrong size");
  if (!layer.router_logits.empty() && layer.router_logits.size() != n_scores)
    fail("router logits have the wrong size");
  for (size_t i = 0; i < layer.topk_ids.size(); ++i) {
    const int32_t id = layer.topk_ids[i];
    if (id == analysis::kNoExpert && info_.empty_slots) {
      // A token's experts come first, then its empty slots (analysis::validate reads them so).
      if ((i + 1) % static_cast<size_t>(layer.top_k) != 0 && layer.topk_ids[i + 1] != analysis::kNoExpert)
        fail("an expert after an empty slot at position " +
             std::to_string(layer.first_position + static_cast<int64_t>(i) / layer.top_k));
      continue;
    }
    if (id < 0 || id >= layer.n_experts) fail("expert id " + std::to_string(id) + " outside [0, n_experts)");
  }
}

void RunWriter::accumulate(const LayerRouting& layer, int32_t slot) {
  const int32_t n_experts = info_.n_experts;
  std::fill(step_counts_.begin(), step_counts_.end(), 0);
  for (size_t i = 0; i < layer.topk_ids.size(); ++i) {
    int32_t expert = layer.topk_ids[i];
    if (expert == analysis::kNoExpert) continue;  // an empty slot (expert choice)
    ++step_counts_[static_cast<size_t>(expert)];
    ++hits_[cell(slot, n_experts, expert)];
    weight_sum_[cell(slot, n_experts, expert)] += layer.topk_weights[i];
  }
  const size_t layer_cells = info_.moe_layers.size() * static_cast<size_t>(n_experts);
  for (size_t f = 0; f < options_.capacity_factors.size(); ++f) {
    int64_t capacity =
        analysis::expert_capacity(options_.capacity_factors[f], layer.n_tokens, info_.top_k, n_experts);
    for (int32_t expert = 0; expert < n_experts; ++expert) {
      size_t index = f * layer_cells + cell(slot, n_experts, expert);
      int64_t count = step_counts_[static_cast<size_t>(expert)];
      assigned_[index] += count;
      capacity_[index] += capacity;
      overflow_[index] += std::max<int64_t>(0, count - capacity);
    }
  }
}

void RunWriter::write_step(const StepRecord& step) {
  sql_.insert_step.bind(1, run_id_).bind(2, step.info.step).bind(3, step.info.first_position);
  sql_.insert_step.bind(4, step.info.n_tokens).bind(5, step.start_us).bind(6, step.duration_us).run();
  // Prefill is the first step and any other multi-token step; decode steps carry one token.
  if (step.info.step == 0 || step.info.n_tokens > 1) {
    prefill_us_ += step.duration_us;
  } else {
    decode_us_ += step.duration_us;
  }

  // Layers in ascending order, then rows in (position, layer) order: the primary-key order,
  // so every insert appends at the right edge of its B-tree.
  std::vector<const LayerRouting*> layers;
  layers.reserve(step.routing.size());
  for (const LayerRouting& layer : step.routing) {
    check_layer(layer, step);
    layers.push_back(&layer);
  }
  std::sort(layers.begin(), layers.end(), [](auto* a, auto* b) { return a->layer < b->layer; });
  for (size_t i = 1; i < layers.size(); ++i) {
    if (layers[i]->layer == layers[i - 1]->layer) {
      fail_input("step " + std::to_string(step.info.step) + " reported layer " +
                 std::to_string(layers[i]->layer) + " twice");
    }
  }
  for (const LayerRouting* layer : layers) accumulate(*layer, slot_of_layer_.at(layer->layer));

  RoutingRows rows;
  rows.run_id = run_id_;
  rows.step = step.info.step;
  rows.first_position = step.info.first_position;
  rows.n_tokens = step.info.n_tokens;
  rows.top_k = info_.top_k;
  rows.n_experts = info_.n_experts;
  rows.layers = layers;
  rows.store_scores = options_.store_scores;
  rows.store_router_logits = options_.store_router_logits;
  rows.store_weights = options_.store_weights;
  sql_.insert_routing.bind_pointer(1, &rows, kRoutingRowsPointerType).run();
  const int64_t n_rows = int64_t{step.info.n_tokens} * static_cast<int64_t>(layers.size());
  routing_rows_ += n_rows;
  topk_rows_ += n_rows * info_.top_k;

  for (const PhaseTiming& timing : step.timings) {
    sql_.insert_timing.bind(1, run_id_)
        .bind(2, timing.step)
        .bind(3, timing.layer)
        .bind(4, phase_name(timing.phase));
    sql_.insert_timing.bind(5, timing.start_us).bind(6, timing.duration_us).run();
  }
  for (const AllToAllRecord& exchange : step.all_to_all) {
    size_t cells = static_cast<size_t>(exchange.n_ranks) * static_cast<size_t>(exchange.n_ranks);
    if (exchange.n_ranks < 1 || exchange.tokens.size() != cells || exchange.bytes.size() != cells) {
      fail_input("all-to-all event of step " + std::to_string(step.info.step) + ", layer " +
                 std::to_string(exchange.layer) + ": matrices are not n_ranks x n_ranks");
    }
    sql_.insert_exchange.bind(1, run_id_)
        .bind(2, step.info.step)
        .bind(3, exchange.layer)
        .bind(4, exchange.n_ranks);
    sql_.insert_exchange.bind(5, exchange.measured_us).bind(6, exchange.modeled_us).run();
    for (int32_t src = 0; src < exchange.n_ranks; ++src) {
      for (int32_t dst = 0; dst < exchange.n_ranks; ++dst) {
        size_t i =
            static_cast<size_t>(src) * static_cast<size_t>(exchange.n_ranks) + static_cast<size_t>(dst);
        sql_.insert_exchange_cell.bind(1, run_id_).bind(2, step.info.step).bind(3, exchange.layer).bind(4, src);
        sql_.insert_exchange_cell.bind(5, dst).bind(6, exchange.tokens[i]).bind(7, exchange.bytes[i]).run();
      }
    }
  }
  write_offload(step);
}

// The engine's counters are checked here as the reader will check them (run_check.cpp), so a
// faulty event fails the recording with its values named instead of leaving a run no one can open.
void RunWriter::write_offload(const StepRecord& step) {
  std::vector<int32_t> seen;
  for (const OffloadEvent& e : step.offload) {
    const auto fail = [&](const std::string& what) {
      fail_input("offload event of step " + std::to_string(step.info.step) + ", layer " + std::to_string(e.layer) +
                 ": " + what);
    };
    if (!slot_of_layer_.contains(e.layer)) fail("not one of the model's MoE layers");
    if (std::find(seen.begin(), seen.end(), e.layer) != seen.end()) fail("reported twice in one step");
    seen.push_back(e.layer);
    if (e.lookups < 0 || e.lookups > info_.n_experts || e.hits < 0 || e.hits > e.lookups)
      fail("needs 0 <= hits <= lookups <= n_experts " + std::to_string(info_.n_experts) + ", got " +
           std::to_string(e.hits) + " hits of " + std::to_string(e.lookups) + " lookups");
    if (e.prefetched < 0 || e.prefetched > info_.n_experts || e.prefetch_hits < 0 || e.prefetch_hits > e.hits ||
        e.prefetch_hits > e.prefetched)
      fail("needs 0 <= prefetch_hits <= hits and prefetched, prefetched <= n_experts, got " +
           std::to_string(e.prefetch_hits) + " prefetch hits, " + std::to_string(e.prefetched) + " prefetched");
    if (e.bytes_copied < 0) fail("negative bytes_copied " + std::to_string(e.bytes_copied));
    for (double us : {e.copy_start_us, e.copy_us, e.stall_start_us, e.stall_us}) {
      if (!std::isfinite(us) || us < 0) fail("copy and stall times must be finite and >= 0");
    }
    sql_.insert_offload.bind(1, run_id_).bind(2, step.info.step).bind(3, e.layer).bind(4, e.lookups).bind(5, e.hits);
    sql_.insert_offload.bind(6, e.prefetched).bind(7, e.prefetch_hits).bind(8, e.bytes_copied);
    sql_.insert_offload.bind(9, e.copy_start_us).bind(10, e.copy_us).bind(11, e.stall_start_us).bind(12, e.stall_us).run();
  }
}

void RunWriter::write_tokens(std::span<const TokenRecord> tokens) {
  if (tokens.empty()) return;
  ArrayRows rows;
  rows.n_rows = static_cast<int64_t>(tokens.size());
  const TokenRecord& first = tokens.front();
  constexpr size_t stride = sizeof(TokenRecord);
  rows.columns = {ArrayColumn::of_constant(run_id_),
                  ArrayColumn::of(&first.position, stride),
                  ArrayColumn::of(&first.token_id, stride),
                  ArrayColumn::of(&first.display_text, stride),
                  ArrayColumn::of(&first.is_prompt, stride),
                  ArrayColumn::of(&first.logprob, stride),
                  ArrayColumn::of(&first.kl_to_dropless, stride)};
  sql_.insert_tokens.bind_pointer(1, &rows, kArrayRowsPointerType).run();
  for (const TokenRecord& token : tokens) {
    if (token.is_prompt) {
      n_prompt_tokens_ = std::max(n_prompt_tokens_, token.position + 1);
    } else {
      ++n_generated_tokens_;
    }
  }
}

void RunWriter::finish(const RunEnd& end, double total_us) {
  // Only the experts that were hit (docs/session_schema.md): a short request at DeepSeek-V3's
  // shape touches ~120 of a layer's 256 experts, and the zeros were most of an import's rows. The
  // reader fills absent cells with 0, so files with the zero rows of earlier writers read the same.
  struct HitRow {
    int32_t layer;
    int32_t expert;
    int64_t hits;
    double weight_sum;
  };
  std::vector<HitRow> rows_of_hits;
  for (size_t c = 0; c < hits_.size(); ++c) {
    if (hits_[c] != 0) rows_of_hits.push_back({cell_layer_[c], cell_expert_[c], hits_[c], weight_sum_[c]});
  }
  if (!rows_of_hits.empty()) {
    ArrayRows hits;
    hits.n_rows = static_cast<int64_t>(rows_of_hits.size());
    const HitRow& first = rows_of_hits.front();
    constexpr size_t stride = sizeof(HitRow);
    hits.columns = {ArrayColumn::of_constant(run_id_), ArrayColumn::of(&first.layer, stride),
                    ArrayColumn::of(&first.expert, stride), ArrayColumn::of(&first.hits, stride),
                    ArrayColumn::of(&first.weight_sum, stride)};
    sql_.insert_hits.bind_pointer(1, &hits, kArrayRowsPointerType).run();
  }

  // Overflow in the table's key order (layer, expert, factor); the accumulators are factor-major.
  const size_t n_factors = options_.capacity_factors.size();
  const size_t layer_cells = hits_.size();
  if (n_factors > 0 && layer_cells > 0) {
    struct OverflowRow {
      int32_t layer;
      int32_t expert;
      double factor;
      int64_t assigned, capacity, overflow;
    };
    std::vector<OverflowRow> overflow;
    overflow.reserve(n_factors * layer_cells);
    for (size_t c = 0; c < layer_cells; ++c) {
      for (size_t f = 0; f < n_factors; ++f) {
        const size_t i = f * layer_cells + c;
        overflow.push_back({cell_layer_[c], cell_expert_[c], options_.capacity_factors[f], assigned_[i],
                            capacity_[i], overflow_[i]});
      }
    }
    ArrayRows rows;
    rows.n_rows = static_cast<int64_t>(overflow.size());
    const OverflowRow& first = overflow.front();
    constexpr size_t stride = sizeof(OverflowRow);
    rows.columns = {ArrayColumn::of_constant(run_id_),        ArrayColumn::of(&first.layer, stride),
                    ArrayColumn::of(&first.expert, stride),   ArrayColumn::of(&first.factor, stride),
                    ArrayColumn::of(&first.assigned, stride), ArrayColumn::of(&first.capacity, stride),
                    ArrayColumn::of(&first.overflow, stride)};
    sql_.insert_overflow.bind_pointer(1, &rows, kArrayRowsPointerType).run();
  }

  Statement& update = sql_.finish_run;
  update.bind(1, std::string_view(end.status == RunStatus::complete ? "complete" : "failed"));
  if (end.error.empty())
    update.bind_null(2);
  else
    update.bind(2, end.error);
  update.bind(3, utc_now());
  update.bind(4, n_prompt_tokens_).bind(5, n_generated_tokens_);
  update.bind(6, prefill_us_).bind(7, decode_us_).bind(8, total_us).bind(9, run_id_).run();
  if (transaction_) transaction_->commit();
}

}  // namespace moescope::sessions
