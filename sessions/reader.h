// Reading a session file (UI and CLI): the runs it holds and, per run, its tokens, its routing as
// dense arrays (analysis::RoutingArrays), expert hits, capacity overflow, step timings and
// all-to-all traffic. Opens read-only with every untrusted-file check of session_file.h; values
// read back are validated before they size an allocation or index an array, so a hostile file
// gives an InputError, never a crash. Every run is checked by run_check.h before any of its rows
// is handed out, so every consumer refuses the same bad values with the same line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/analysis/routing_arrays.h"
#include "sessions/recorder.h"
#include "sessions/sql.h"

namespace moescope::sessions {

struct RunSummary {
  int64_t id = 0;
  int64_t session_id = 0;
  int64_t model_id = 0;
  std::string status;  // "recording" (only while another process writes it), "complete", "failed"
  std::string error;
  std::string backend;
  std::string device;
  std::string settings_json;
  std::string started_at;
  std::string finished_at;
  std::string model_path;
  std::string model_type;
  std::string prompt_text;
  std::string tag;
  std::vector<int32_t> moe_layers;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  std::vector<double> capacity_factors;
  int64_t n_prompt_tokens = 0;
  int64_t n_generated_tokens = 0;
  double prefill_us = 0;
  double decode_us = 0;
  double total_us = 0;
  // settings_json says "empty_slots": true (expert choice): routing() gives NULL slots as
  // analysis::kNoExpert instead of refusing the row.
  bool empty_slots = false;
};

// What a list of runs shows, read for every run in one query without checking or parsing any
// run (a session of 100,000 imported requests lists in well under a second); the run's rows are
// checked, with the same one-line error, when it is read (run(), routing(), ...).
struct RunListing {
  int64_t id = 0;
  std::string status;
  std::string tag;
  std::string prompt_text;
  std::string backend;
  std::string device;
  int64_t n_prompt_tokens = 0;
  int64_t n_generated_tokens = 0;
};

struct StepRow {
  int64_t step = 0;
  int64_t first_position = 0;
  int32_t n_tokens = 0;
  double start_us = 0;
  double duration_us = 0;
};

struct TimingRow {
  int64_t step = 0;
  int32_t layer = -1;
  std::string phase;
  double start_us = 0;
  double duration_us = 0;
};

struct AllToAllStep {
  int64_t step = 0;
  int32_t layer = 0;
  int32_t n_ranks = 0;
  double measured_us = 0;
  double modeled_us = 0;
  std::vector<int64_t> tokens;  // (n_ranks, n_ranks) source-major
  std::vector<int64_t> bytes;   // (n_ranks, n_ranks)
};

struct ExpertHits {
  std::vector<int32_t> layer_ids;  // (n_layers)
  int32_t n_experts = 0;
  std::vector<int64_t> hits;       // (n_layers, n_experts) top-k selections
  std::vector<double> weight_sum;  // (n_layers, n_experts) summed combine weights
};

struct OverflowTable {
  std::vector<double> capacity_factors;  // (n_factors)
  std::vector<int32_t> layer_ids;        // (n_layers)
  int32_t n_experts = 0;
  std::vector<int64_t> assigned;  // (n_factors, n_layers, n_experts) assignments routed
  std::vector<int64_t> capacity;  // (n_factors, n_layers, n_experts) capacity summed over steps
  std::vector<int64_t> overflow;  // (n_factors, n_layers, n_experts) assignments beyond capacity
};

// Where an imported run came from (`moescope import`, table imported_runs); recorded runs have none.
struct ImportInfo {
  std::string engine;          // "sglang", "sglang-dump", "vllm", "hf"
  std::string engine_version;  // "" when unknown
  std::string source_file;
  std::string request_id;
  std::vector<std::string> captured;      // field names: topk_ids, token_ids, text, topk_weights,
  std::vector<std::string> not_captured;  // scores, router_logits, steps, timings
  bool has(const std::string& field) const;
};

// Summed over the completed runs of one tag in SQL, without loading any run's routing: what
// aggregate views of 100,000 imported requests need.
struct TagExpertLoad {
  std::vector<int32_t> layer_ids;  // (n_layers)
  int32_t n_experts = 0;
  int64_t n_runs = 0;
  std::vector<int64_t> hits;  // (n_layers, n_experts)
};

// One completed run's expert hits, (n_layers, n_experts) in the layers and experts of its tag's
// TagExpertLoad: the per-run loads a permutation test over a tag's runs needs, read from
// expert_hits without the run's routing.
struct RunExpertLoad {
  int64_t run_id = 0;
  std::vector<int64_t> hits;
};

struct RoutingLoad {
  bool scores = true;
  bool router_logits = false;
};

class SessionReader {
 public:
  explicit SessionReader(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return connection_.path(); }
  std::vector<RunSummary> runs();  // every run, oldest first
  RunSummary run(int64_t run_id);  // InputError when the file has no such run
  std::vector<RunListing> run_listing();  // every run, oldest first, unchecked (see RunListing)
  // Completed runs whose prompt carries `tag`, oldest first.
  std::vector<int64_t> runs_with_tag(const std::string& tag);
  std::vector<TokenRecord> tokens(int64_t run_id);
  // The run's routing as dense arrays, checked with analysis::validate.
  analysis::RoutingArrays routing(int64_t run_id, RoutingLoad load = {});
  ExpertHits expert_hits(int64_t run_id);
  OverflowTable capacity_overflow(int64_t run_id);
  std::vector<StepRow> steps(int64_t run_id);
  std::vector<TimingRow> timings(int64_t run_id);
  std::vector<AllToAllStep> all_to_all(int64_t run_id);
  // The expert cache's counters per step and MoE layer (table offload_steps), in (step, layer)
  // order; empty for a run that did not offload experts.
  std::vector<OffloadEvent> offload(int64_t run_id);
  std::optional<ImportInfo> import_info(int64_t run_id);
  // Expert hits of every completed run tagged `tag`, summed as the rows stream from one query, no
  // run loaded (runs of one model's dimensions: the first run's layers and experts; rows outside
  // them are refused).
  TagExpertLoad tag_expert_load(const std::string& tag);
  // tag_expert_load's layers, experts and run count, hits left zero (nothing summed).
  TagExpertLoad tag_expert_shape(const std::string& tag);
  // Per run, in run id order, the hits tag_expert_load sums (`shape`: tag_expert_shape's); runs
  // without any hits row (no routing) are left out.
  std::vector<RunExpertLoad> run_expert_loads(const std::string& tag, const TagExpertLoad& shape);
  // Every row of the run against run_check.h (once per run and reader); the accessors above call
  // it, consumers reading tables with their own SQL (the CSV export) call it first.
  void check_run(int64_t run_id);

  Connection& connection() { return connection_; }

 private:
  Connection connection_;
  std::set<int64_t> checked_runs_;
};

}  // namespace moescope::sessions
