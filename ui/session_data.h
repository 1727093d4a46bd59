// The GUI's data model: what a session holds, as plain structs the views read. It knows nothing
// of ImGui or OpenGL; a SessionSource fills it (a session file through the sessions reader, a
// synthetic session, or a live run streaming in).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/analysis/routing_arrays.h"
#include "core/observer.h"

namespace moescope::ui {

struct ModelCard {
  std::string name;  // checkpoint folder name or the session's model label
  std::string family;
  std::string dtype;
  int64_t n_layers = 0;
  int64_t n_moe_layers = 0;
  int64_t n_experts = 0;  // routed experts per MoE layer
  int64_t n_shared_experts = 0;
  int64_t top_k = 0;
  int64_t hidden_size = 0;
  int64_t vocab_size = 0;
  int64_t total_params = 0;
  int64_t active_params = 0;  // per token
};

struct RunSummary {
  int64_t id = 0;
  std::string tag;  // code, verse, maths, prose, multilingual, or a custom label
  std::string prompt;
  std::string status;  // as the session stores it: complete, running, cancelled, failed, ...
  std::string backend;
  std::string device;
  int32_t n_tokens = 0;
  int32_t n_prompt_tokens = 0;
};

struct TimingZone {
  int64_t step = 0;
  int32_t layer = -1;  // the model's layer index; -1: outside the layers (embed, lm_head)
  Phase phase = Phase::attention;
  double start_us = 0;  // from the start of the step
  double duration_us = 0;
};

struct TrafficMatrix {
  int64_t step = 0;
  int32_t layer = 0;  // the model's layer index
  int32_t n_ranks = 0;
  std::vector<int64_t> tokens;  // (n_ranks, n_ranks) source-major
  std::vector<int64_t> bytes;   // (n_ranks, n_ranks)
  double modeled_us = 0;
  double measured_us = 0;
};

struct RunData {
  RunSummary summary;
  analysis::RoutingArrays routing;
  std::vector<std::string> token_text;  // (n_tokens) display text of each token
  std::vector<uint8_t> generated;       // (n_tokens) 1 for generated tokens, 0 for the prompt
  std::vector<TimingZone> timings;      // sorted by (step, start_us)
  std::vector<TrafficMatrix> traffic;   // sorted by (step, layer)
  // Capacity enforcement the run was recorded with (`run --enforce-capacity C`): the factor (0: the
  // run was dropless), per token the assignments enforcement dropped over all its layers, and
  // KL(dropless || this run) of each token's next-token distribution (NaN where none was recorded).
  double enforce_capacity_factor = 0;
  std::vector<int32_t> dropped_per_token;  // (n_tokens) empty when not enforced
  std::vector<double> kl_to_dropless;      // (n_tokens) empty when no token has one
  // Runs with offloaded experts (CUDA --offload-experts): the expert cache per (step, MoE layer),
  // sorted so, and the cache the run had (from its settings; 0 and "" when not recorded).
  std::vector<OffloadEvent> offload;
  int32_t offload_slots = 0;
  std::string offload_policy;
  // Runs imported from another engine's capture (`moescope import`): the engine, and the fields
  // its capture lacked (scores, router_logits, steps, timings, text, ...), which views name
  // instead of drawing. Empty engine for runs moescope recorded.
  std::string imported_from;
  std::vector<std::string> not_captured;
  bool lacks(const std::string& field) const;
  // Bumped on every change (a live run streaming in), so derived caches and textures know when
  // to rebuild. A loaded run never changes.
  uint64_t revision = 1;
  // Which copy of the run this is, unique in the process: SessionDoc stamps it when it loads or
  // receives the run, so run 1 of two sessions, or a run reloaded after refresh(), never share
  // a cache key. 0 until stamped.
  uint64_t copy_serial = 0;
};

// What a view cache (derived arrays, token layout, timeline tracks, heatmap textures) stores to
// know it still shows `run`: equal keys mean the same data (the same copy_serial and revision).
uint64_t run_data_key(const RunData& run);
// Mixes `value` into `hash` (boost's hash_combine), for caches keyed on several things.
uint64_t mix_key(uint64_t hash, uint64_t value);

// Expert loads of one tag's completed runs, summed (and per run) by the source without loading
// any run: what the Compare view pools for 100,000 imported requests.
struct TagLoads {
  std::vector<int32_t> layer_ids;  // (n_layers) the model's layer indexes
  int32_t n_experts = 0;
  std::vector<double> counts;                // (n_layers, n_experts) top-k selections summed
  std::vector<std::vector<double>> per_run;  // each routed run's (n_layers, n_experts) selections
  bool per_run_left_out = false;             // more runs x cells than max_per_run_cells
};

// Where runs come from. Loading a run may be slow (reads the whole routing), so the document
// calls it once per run and caches the result.
class SessionSource {
 public:
  virtual ~SessionSource() = default;
  virtual std::string label() const = 0;  // file path or a description
  virtual ModelCard model() const = 0;
  virtual std::vector<RunSummary> runs() = 0;
  virtual std::shared_ptr<RunData> load_run(int64_t run_id) = 0;
  // The tag's loads without loading its runs, per run only up to max_per_run_cells values in all;
  // nullopt when this source cannot (synthetic and live sessions: callers pool loaded runs).
  virtual std::optional<TagLoads> tag_loads(const std::string& tag, size_t max_per_run_cells) {
    (void)tag;
    (void)max_per_run_cells;
    return std::nullopt;
  }
};

// An open session: its source, the run list and the runs loaded so far.
class SessionDoc {
 public:
  explicit SessionDoc(std::unique_ptr<SessionSource> source);
  const std::string& label() const { return label_; }
  const ModelCard& model() const { return model_; }
  const std::vector<RunSummary>& runs() const { return runs_; }
  // The run with this id, loading it on first use; null when there is no such run or it failed
  // to load (a damaged run: load_error says why, in one line, and it is not retried).
  std::shared_ptr<RunData> run(int64_t run_id);
  std::string load_error(int64_t run_id) const;  // "" when the run loaded or was never opened
  // The source's tag_loads; InputError (one line) when the file's rows are refused.
  std::optional<TagLoads> tag_loads(const std::string& tag, size_t max_per_run_cells) {
    return source_->tag_loads(tag, max_per_run_cells);
  }
  // Re-reads the run list (after a live run was recorded) and forgets cached runs whose
  // summaries changed.
  void refresh();
  // A run produced in this process (live), shown before the session has it.
  void put_live_run(std::shared_ptr<RunData> run);
  const std::vector<std::string>& tags() const { return tags_; }  // distinct tags, sorted
  // Unique in the process, new on every open and on every change of the run list (refresh, a
  // live run), for caches that span runs (the compare view's pooled loads).
  uint64_t version() const { return version_; }

 private:
  void update_tags();

  std::unique_ptr<SessionSource> source_;
  std::string label_;
  ModelCard model_;
  std::vector<RunSummary> runs_;
  std::map<int64_t, std::shared_ptr<RunData>> loaded_;
  std::map<int64_t, std::string> load_errors_;
  std::vector<std::string> tags_;  // of runs_, kept with it: views ask every frame
  uint64_t version_ = 0;
};

}  // namespace moescope::ui
