// One JSON document with every run: its summary, tokens, steps, dense routing (flat arrays with
// their shapes), hits, overflow, timings, all-to-all traffic and the expert cache's counters.
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sessions/export.h"
#include "sessions/reader.h"
#include "sessions/schema.h"

namespace moescope::sessions {
namespace {

nlohmann::json run_json(SessionReader& reader, const RunSummary& run) {
  nlohmann::json j;
  j["id"] = run.id;
  j["session_id"] = run.session_id;
  j["status"] = run.status;
  if (!run.error.empty()) j["error"] = run.error;
  j["model"] = {{"path", run.model_path}, {"model_type", run.model_type}};
  j["prompt"] = {{"text", run.prompt_text}, {"tag", run.tag}};
  j["backend"] = run.backend;
  j["device"] = run.device;
  j["settings"] = nlohmann::json::parse(run.settings_json, nullptr, false);
  j["started_at"] = run.started_at;
  j["finished_at"] = run.finished_at;
  j["n_prompt_tokens"] = run.n_prompt_tokens;
  j["n_generated_tokens"] = run.n_generated_tokens;
  j["prefill_us"] = run.prefill_us;
  j["decode_us"] = run.decode_us;
  j["total_us"] = run.total_us;

  nlohmann::json tokens = nlohmann::json::array();
  for (const TokenRecord& token : reader.tokens(run.id)) {
    nlohmann::json t = {{"position", token.position},
                        {"token_id", token.token_id},
                        {"text", token.display_text},
                        {"is_prompt", token.is_prompt}};
    t["logprob"] = token.logprob ? nlohmann::json(*token.logprob) : nlohmann::json();
    if (token.kl_to_dropless) t["kl_to_dropless"] = *token.kl_to_dropless;
    tokens.push_back(std::move(t));
  }
  j["tokens"] = std::move(tokens);

  nlohmann::json steps = nlohmann::json::array();
  for (const StepRow& step : reader.steps(run.id)) {
    steps.push_back({{"step", step.step},
                     {"first_position", step.first_position},
                     {"n_tokens", step.n_tokens},
                     {"start_us", step.start_us},
                     {"duration_us", step.duration_us}});
  }
  j["steps"] = std::move(steps);

  // An imported run says where it came from and what its capture lacked; those fields are null
  // below rather than zeros.
  const std::optional<ImportInfo> imported = reader.import_info(run.id);
  if (imported) {
    j["imported"] = {{"engine", imported->engine},
                     {"engine_version", imported->engine_version},
                     {"source_file", imported->source_file},
                     {"request_id", imported->request_id},
                     {"captured", imported->captured},
                     {"not_captured", imported->not_captured}};
  }
  const bool weights = !imported || imported->has("topk_weights");
  if (run.status == "complete") {
    analysis::RoutingArrays arrays = reader.routing(run.id);
    j["routing"] = {{"n_tokens", arrays.n_tokens},
                    {"n_layers", arrays.n_layers},
                    {"n_experts", arrays.n_experts},
                    {"top_k", arrays.top_k},
                    {"layer_ids", arrays.layer_ids},
                    {"step_of_token", arrays.step_of_token},
                    {"topk_ids", arrays.topk_ids},
                    {"topk_ids_shape", "(n_layers, n_tokens, top_k)"},
                    {"topk_weights", weights ? nlohmann::json(arrays.topk_weights) : nlohmann::json()},
                    {"scores", arrays.scores},
                    {"scores_shape", "(n_layers, n_tokens, n_experts), empty when not recorded"}};
    ExpertHits hits = reader.expert_hits(run.id);
    j["expert_hits"] = {{"layer_ids", hits.layer_ids},
                        {"hits", hits.hits},
                        {"weight_sum", weights ? nlohmann::json(hits.weight_sum) : nlohmann::json()},
                        {"shape", "(n_layers, n_experts)"}};
    OverflowTable overflow = reader.capacity_overflow(run.id);
    j["capacity_overflow"] = {{"capacity_factors", overflow.capacity_factors},
                              {"layer_ids", overflow.layer_ids},
                              {"assigned", overflow.assigned},
                              {"capacity", overflow.capacity},
                              {"overflow", overflow.overflow},
                              {"shape", "(n_factors, n_layers, n_experts)"}};
  }

  nlohmann::json timings = nlohmann::json::array();
  for (const TimingRow& timing : reader.timings(run.id)) {
    timings.push_back({{"step", timing.step},
                       {"layer", timing.layer},
                       {"phase", timing.phase},
                       {"start_us", timing.start_us},
                       {"duration_us", timing.duration_us}});
  }
  j["timings"] = std::move(timings);
  nlohmann::json exchanges = nlohmann::json::array();
  for (const AllToAllStep& exchange : reader.all_to_all(run.id)) {
    exchanges.push_back({{"step", exchange.step},
                         {"layer", exchange.layer},
                         {"n_ranks", exchange.n_ranks},
                         {"tokens", exchange.tokens},
                         {"bytes", exchange.bytes},
                         {"measured_us", exchange.measured_us},
                         {"modeled_us", exchange.modeled_us}});
  }
  j["all_to_all"] = std::move(exchanges);
  nlohmann::json offload = nlohmann::json::array();  // empty: the run kept its experts on the GPU
  for (const OffloadEvent& row : reader.offload(run.id)) {
    offload.push_back({{"step", row.step},
                       {"layer", row.layer},
                       {"lookups", row.lookups},
                       {"hits", row.hits},
                       {"prefetched", row.prefetched},
                       {"prefetch_hits", row.prefetch_hits},
                       {"bytes_copied", row.bytes_copied},
                       {"copy_start_us", row.copy_start_us},
                       {"copy_us", row.copy_us},
                       {"stall_start_us", row.stall_start_us},
                       {"stall_us", row.stall_us}});
  }
  j["offload"] = std::move(offload);
  return j;
}

}  // namespace

void export_json(SessionReader& reader, const std::filesystem::path& out_file, const ExportOptions& options) {
  nlohmann::json document;
  document["format"] = "moescope-session";
  document["schema_version"] = kSchemaVersion;
  nlohmann::json runs = nlohmann::json::array();
  std::vector<RunSummary> summaries =
      options.run_id ? std::vector<RunSummary>{reader.run(*options.run_id)} : reader.runs();
  for (const RunSummary& run : summaries) runs.push_back(run_json(reader, run));
  document["runs"] = std::move(runs);
  std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
  if (!out) throw ResourceError(out_file.string() + ": cannot write the export file");
  // Invalid UTF-8 in stored text (display pieces of byte tokens) is replaced, never fatal.
  out << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  if (!out.flush()) throw ResourceError(out_file.string() + ": write failed (disk full?)");
}

}  // namespace moescope::sessions
