// Recording runs into a session file. The engine's observer callbacks only copy the step's data
// and hand it to a background writer thread through a bounded queue: the engine waits on the disk
// only when the queue is full. Each run is one SQLite transaction, so a run is either entirely in
// the file or not at all (a crash or kill -9 mid-run drops it; completed runs stay).
//
// Typical use (the `run` and `record` verbs):
//
//   SessionWriter writer(db_path, "record");
//   int64_t model_id = writer.add_model(describe_model(model));
//   RunInfo info = run_info_for(engine, model_id);  info.prompt_text = text;  info.tag = tag;
//   writer.begin_run(info);
//   engine.set_observer(&writer.observer());
//   ... engine.forward(...) ...; writer.add_tokens({...});
//   engine.set_observer(nullptr);
//   writer.end_run({.status = RunStatus::complete});
//   writer.flush();  // optional: waits until it is on disk and rethrows a write error
//
// A write error (disk full, read-only file) stops recording: the run in progress is rolled back,
// runs committed before stay intact, and every later call (observer callbacks at step boundaries
// included) throws the error as one line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/observer.h"

namespace moescope {
class Engine;
struct Model;
}  // namespace moescope

namespace moescope::sessions {

struct RecorderOptions {
  // Capacity factors C for the stored overflow table: capacity = ceil(C * T * k / E) per expert,
  // layer and forward step of T tokens.
  std::vector<double> capacity_factors = {1.0, 1.25, 1.5, 2.0};
  bool store_scores = true;          // the full score vector per (token, layer), float16
  bool store_router_logits = false;  // the gate's raw logits per (token, layer), float16
  // false: the weight_r columns stay NULL (imported captures that carry only expert ids).
  bool store_weights = true;
  // Data waiting for the writer thread; past this the engine blocks until the disk catches up.
  // A single step larger than this is still accepted when the queue is empty.
  int64_t queue_capacity_bytes = int64_t{256} << 20;
  // Caps the file at this many pages (PRAGMA max_page_count); 0 = no cap. Reaching it behaves
  // like a full disk.
  int64_t max_page_count = 0;
};

struct ModelInfo {
  std::string path;
  std::string model_type;
  std::string family;
  std::string config_json;  // config.json as read
  int64_t n_layers = 0;
  int64_t n_experts = 0;
  int64_t top_k = 0;
  int64_t n_shared_experts = 0;
  int64_t parameter_count = 0;
  int64_t active_parameter_count = 0;
};
ModelInfo describe_model(const Model& model);

struct RunInfo {
  int64_t model_id = 0;
  std::string prompt_text;
  std::string tag;
  std::string backend;              // "cpu", "cuda"
  std::string device;               // as the engine names it
  std::string settings_json;        // sampling, limits, capacity enforcement, EP settings...
  std::vector<int32_t> moe_layers;  // the model's MoE layer indexes, ascending
  int32_t n_experts = 0;
  int32_t top_k = 0;
  // A token may hold fewer than top_k experts: its empty slots are kNoExpert (-1) after its experts
  // and stored as NULL (expert choice; docs/session_schema.md). Recorded as "empty_slots": true in
  // settings_json, which tells readers that NULL slots mean "no expert", not a damaged row.
  bool empty_slots = false;
};
// Backend, device and routing dimensions from a loaded engine.
RunInfo run_info_for(const Engine& engine, int64_t model_id);

struct TokenRecord {
  int64_t position = 0;
  int32_t token_id = 0;
  std::string display_text;
  bool is_prompt = false;
  std::optional<double> logprob;         // log p(token | earlier tokens); none for position 0
  std::optional<double> kl_to_dropless;  // KL(dropless || this run) of the next-token distribution
};

enum class RunStatus { complete, failed };

struct RunEnd {
  RunStatus status = RunStatus::complete;
  std::string error;  // for failed runs: the one-line reason
};

struct WriterStats {
  int64_t steps = 0;
  int64_t routing_rows = 0;    // rows in `routing`: one per (token, MoE layer)
  int64_t topk_rows = 0;       // top-k assignments in them: routing_rows x top_k
  int64_t engine_wait_us = 0;  // time observer callbacks spent blocked on a full queue
  int64_t writer_cpu_us = 0;   // CPU time of the writer thread (encoding + SQLite), load-independent
  int64_t peak_queue_bytes = 0;
};

class SessionWriter {
 public:
  // Opens (or creates) the session file and starts the writer thread. `command` names what
  // records ("run", "record", "gui") in the sessions table.
  SessionWriter(const std::filesystem::path& path, const std::string& command, RecorderOptions options = {});
  // Waits for queued data; a run never ended is rolled back (dropped).
  ~SessionWriter();
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;

  const std::filesystem::path& path() const;
  int64_t session_id() const;

  // The same model (path and config) is stored once; returns its id.
  int64_t add_model(const ModelInfo& model);
  // Starts a run's transaction and returns the run's id. Waits until earlier runs are committed.
  int64_t begin_run(const RunInfo& info);
  // Attach to the engine while the run is in progress.
  ForwardObserver& observer();
  void add_tokens(std::span<const TokenRecord> tokens);
  // Queues the run's end; its transaction commits on the writer thread.
  void end_run(const RunEnd& end);
  // Blocks until everything queued is committed; rethrows the writer's error.
  void flush();
  WriterStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace moescope::sessions
