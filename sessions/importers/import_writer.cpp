#include "sessions/importers/import_writer.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/tokenizer.h"
#include "sessions/array_rows_table.h"
#include "sessions/recorder.h"
#include "sessions/routing_rows_table.h"
#include "sessions/run_writer.h"
#include "sessions/schema.h"
#include "sessions/session_file.h"

namespace moescope::sessions {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path.string() + ": cannot read the model config");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ModelInfo model_info(const std::filesystem::path& config_path, const std::string& config_json,
                     const ModelConfig& config) {
  ModelInfo info;
  info.path = std::filesystem::absolute(config_path.parent_path().empty() ? "." : config_path.parent_path())
                  .lexically_normal()
                  .string();
  info.config_json = config_json;
  info.model_type = config.model_type;
  info.family = family_name(config.family);
  info.n_layers = config.num_layers;
  info.n_experts = config.n_routed_experts;
  info.top_k = config.top_k;
  info.n_shared_experts = config.n_shared_experts;
  // Parameter counts come from a checkpoint's tensors; an import has only the config (0 = unknown).
  return info;
}

int64_t insert_model(Connection& connection, const ModelInfo& model) {
  Statement find = connection.prepare("SELECT id FROM models WHERE path = ? AND config_json = ?");
  find.bind(1, model.path).bind(2, model.config_json);
  if (find.step()) return find.column_int(0);
  Statement insert = connection.prepare(
      "INSERT INTO models(path, model_type, family, config_json, n_layers, n_experts, top_k, n_shared_experts,"
      " parameter_count, active_parameter_count) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 0, 0)");
  insert.bind(1, model.path).bind(2, model.model_type).bind(3, model.family).bind(4, model.config_json);
  insert.bind(5, model.n_layers).bind(6, model.n_experts).bind(7, model.top_k).bind(8, model.n_shared_experts);
  insert.run();
  return connection.last_insert_rowid();
}

// The fields every importer may or may not have, named as docs/session_schema.md lists them.
void split_fields(const CapturedRequest& request, nlohmann::json& captured, nlohmann::json& missing) {
  auto mark = [&](const char* field, bool present) { (present ? captured : missing).push_back(field); };
  mark("topk_ids", true);
  mark("token_ids", !request.prompt_ids.empty() || !request.output_ids.empty());
  mark("text", !request.prompt_text.empty() || !request.output_text.empty());
  mark("topk_weights", !request.topk_weights.empty());
  mark("scores", !request.scores.empty());
  mark("router_logits", !request.router_logits.empty());
  // No engine's capture says how long anything took; only a forward-pass dump says how tokens
  // were batched.
  mark("steps", !request.step_tokens.empty());
  mark("timings", false);
}

}  // namespace

ImportWriter::ImportWriter(const std::filesystem::path& db, const std::filesystem::path& config_json,
                           ImportOptions options)
    : config_path_(config_json), options_(std::move(options)) {
  const std::string config_text = read_text(config_json);
  config_ = parse_model_config(config_text, config_json.string());
  moe_layers_ = config_.moe_layers();
  if (moe_layers_.empty()) fail_input(config_json.string() + ": the model has no MoE layers to import");
  connection_ = open_session(db, OpenMode::write);
  register_routing_rows_table(connection_.get());
  register_array_rows_table(connection_.get());
  run_statements_ = std::make_unique<RunStatements>(connection_);
  insert_import_ = connection_.prepare(
      "INSERT INTO imported_runs(run_id, engine, engine_version, source_file, request_id, captured, not_captured)"
      " VALUES(?, ?, ?, ?, ?, ?, ?)");
}

ImportWriter::~ImportWriter() = default;

void ImportWriter::begin_file(const std::filesystem::path& file, const CaptureSource& source) {
  file_transaction_.reset();  // an uncommitted previous file rolls back
  file_runs_ = 0;
  file_rows_ = 0;
  file_transaction_ = std::make_unique<Transaction>(connection_);
  file_ = file;
  source_ = source;
  // The session and model rows are written inside the file's transaction until one file commits,
  // so a failed import leaves no empty session behind.
  if (!session_committed_) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    Statement insert = connection_.prepare("INSERT INTO sessions(started_at, command, host) VALUES(?, ?, ?)");
    insert.bind(1, utc_now()).bind(2, std::string_view("import")).bind(3, std::string_view(host)).run();
    session_id_ = connection_.last_insert_rowid();
    model_id_ = insert_model(connection_, model_info(config_path_, read_text(config_path_), config_));
  }
}

void ImportWriter::check(const CapturedRequest& request) const {
  auto fail = [&](const std::string& field, const std::string& what) {
    fail_input(file_.string() + ": request " + request.request_id + ", " + field + ": " + what);
  };
  const auto n_layers = static_cast<int64_t>(moe_layers_.size());
  const int64_t k = config_.top_k;
  const int64_t n_experts = config_.n_routed_experts;
  if (request.n_positions < 1) fail("routed positions", "the capture routes no token");
  if (request.n_positions > kMaxRoutingPosition + 1)
    fail("routed positions", std::to_string(request.n_positions) + " exceed the session format's " +
                                 std::to_string(kMaxRoutingPosition + 1));
  const int64_t n_assign = n_layers * request.n_positions * k;
  const int64_t n_scores = n_layers * request.n_positions * n_experts;
  if (static_cast<int64_t>(request.topk_ids.size()) != n_assign) fail("topk_ids", "wrong size");
  if (!request.topk_weights.empty() && static_cast<int64_t>(request.topk_weights.size()) != n_assign)
    fail("topk_weights", "wrong size");
  if (!request.scores.empty() && static_cast<int64_t>(request.scores.size()) != n_scores) fail("scores", "wrong size");
  if (!request.router_logits.empty() && static_cast<int64_t>(request.router_logits.size()) != n_scores)
    fail("router_logits", "wrong size");
  for (int64_t i = 0; i < n_assign; ++i) {
    const int32_t id = request.topk_ids[static_cast<size_t>(i)];
    if (id < 0 || id >= n_experts) {
      const int64_t slot = i / (request.n_positions * k);
      const int64_t position = (i / k) % request.n_positions;
      fail("expert id at position " + std::to_string(position) + ", layer " +
               std::to_string(moe_layers_[static_cast<size_t>(slot)]),
           std::to_string(id) + " is outside the config's " + std::to_string(n_experts) + " routed experts");
    }
  }
  for (const auto* ids : {&request.prompt_ids, &request.output_ids}) {
    for (int32_t id : *ids) {
      if (id < 0 || id >= config_.vocab_size)
        fail(ids == &request.prompt_ids ? "prompt token ids" : "output token ids",
             "token id " + std::to_string(id) + " is outside the config's vocabulary of " +
                 std::to_string(config_.vocab_size));
    }
  }
  int64_t stepped = 0;
  for (int32_t n : request.step_tokens) {
    if (n < 1) fail("forward steps", "a step of " + std::to_string(n) + " tokens");
    stepped += n;
  }
  if (!request.step_tokens.empty() && stepped != request.n_positions)
    fail("forward steps", "steps cover " + std::to_string(stepped) + " tokens, the routing " +
                              std::to_string(request.n_positions));
  if (!request.prompt_ids.empty() || !request.output_ids.empty()) {
    const auto n_ids = static_cast<int64_t>(request.prompt_ids.size() + request.output_ids.size());
    if (request.n_positions != n_ids && request.n_positions != n_ids - 1)
      fail("routed positions", std::to_string(request.n_positions) + " positions for " + std::to_string(n_ids) +
                                   " token ids (expected " + std::to_string(n_ids - 1) + " or " +
                                   std::to_string(n_ids) + ")");
  }
}

int64_t ImportWriter::write(const CapturedRequest& request) {
  if (!file_transaction_) throw std::logic_error("ImportWriter::write outside begin_file/commit_file");
  check(request);
  const auto n_layers = static_cast<size_t>(moe_layers_.size());
  const auto n_positions = static_cast<size_t>(request.n_positions);
  const auto k = static_cast<size_t>(config_.top_k);
  const auto n_experts = static_cast<size_t>(config_.n_routed_experts);

  RunInfo info;
  info.model_id = model_id_;
  info.prompt_text = request.prompt_text;
  info.tag = options_.tag;
  info.backend = source_.engine;
  info.device = "imported";
  info.settings_json = nlohmann::json{{"imported_from", file_.string()}, {"request_id", request.request_id}}.dump();
  info.moe_layers = moe_layers_;
  info.n_experts = static_cast<int32_t>(n_experts);
  info.top_k = static_cast<int32_t>(k);

  RecorderOptions options;
  // Capacity overflow is per forward step: meaningless unless the capture says how tokens were batched.
  if (request.step_tokens.empty()) options.capacity_factors = {};
  options.store_scores = !request.scores.empty();
  options.store_router_logits = !request.router_logits.empty();
  options.store_weights = !request.topk_weights.empty();

  // The file's transaction holds the run: a failure anywhere rolls the whole file back.
  RunWriter run(connection_, *run_statements_, session_id_, info, options, RunScope::caller_transaction);
  // Without captured batching the whole request is one step; the step column then says nothing.
  std::vector<int32_t> step_tokens = request.step_tokens;
  if (step_tokens.empty()) step_tokens.push_back(static_cast<int32_t>(n_positions));
  size_t first = 0;
  for (size_t s = 0; s < step_tokens.size(); ++s) {
    const auto n = static_cast<size_t>(step_tokens[s]);
    StepRecord step;
    step.info.step = static_cast<int32_t>(s);
    step.info.first_position = static_cast<int64_t>(first);
    step.info.n_tokens = static_cast<int32_t>(n);
    step.routing.resize(n_layers);
    for (size_t slot = 0; slot < n_layers; ++slot) {
      LayerRouting& layer = step.routing[slot];
      layer.layer = moe_layers_[slot];
      layer.first_position = static_cast<int64_t>(first);
      layer.n_tokens = static_cast<int32_t>(n);
      layer.n_experts = static_cast<int32_t>(n_experts);
      layer.top_k = static_cast<int32_t>(k);
      auto slice = [&](const auto& all, auto& out, size_t width) {
        const size_t at = (slot * n_positions + first) * width;
        if (!all.empty()) out.assign(all.begin() + static_cast<ptrdiff_t>(at), all.begin() + static_cast<ptrdiff_t>(at + n * width));
      };
      slice(request.topk_ids, layer.topk_ids, k);
      slice(request.topk_weights, layer.topk_weights, k);
      if (request.topk_weights.empty()) layer.topk_weights.assign(n * k, 0.0f);  // stored as NULL (store_weights off)
      slice(request.scores, layer.scores, n_experts);
      slice(request.router_logits, layer.router_logits, n_experts);
    }
    run.write_step(step);
    first += n;
  }

  std::vector<TokenRecord> tokens;
  tokens.reserve(request.prompt_ids.size() + request.output_ids.size());
  auto add_tokens = [&](const std::vector<int32_t>& ids, bool is_prompt) {
    for (int32_t id : ids) {
      TokenRecord token;
      token.position = static_cast<int64_t>(tokens.size());
      token.token_id = id;
      token.is_prompt = is_prompt;
      if (options_.tokenizer) token.display_text = options_.tokenizer->display_text(id);
      tokens.push_back(std::move(token));
    }
  };
  add_tokens(request.prompt_ids, true);
  add_tokens(request.output_ids, false);
  run.write_tokens(tokens);
  run.set_token_counts(request.n_prompt_tokens, request.n_generated_tokens);  // the capture's, even without ids
  run.finish(RunEnd{}, 0.0);  // complete; an import has no duration

  const int64_t run_id = run.run_id();
  nlohmann::json captured = nlohmann::json::array();
  nlohmann::json missing = nlohmann::json::array();
  split_fields(request, captured, missing);
  insert_import_.bind(1, run_id).bind(2, source_.engine).bind(3, source_.engine_version);
  insert_import_.bind(4, file_.string()).bind(5, request.request_id);
  insert_import_.bind(6, captured.dump()).bind(7, missing.dump()).run();
  ++file_runs_;
  file_rows_ += run.routing_rows();
  return run_id;
}

void ImportWriter::commit_file() {
  if (!file_transaction_) throw std::logic_error("ImportWriter::commit_file without begin_file");
  file_transaction_->commit();
  file_transaction_.reset();
  session_committed_ = true;
  runs_written_ += file_runs_;
  routing_rows_written_ += file_rows_;
}

}  // namespace moescope::sessions
