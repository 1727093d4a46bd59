// The SQL side of recording one run, on the writer thread: inserts a run's rows inside its
// transaction and keeps the per-(layer, expert) accumulators (hits, capacity overflow) that are
// written when the run ends.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "sessions/recorder.h"
#include "sessions/sql.h"
#include "sessions/step_record.h"

namespace moescope::sessions {

// The statements every run executes, prepared once per connection and shared by its runs one at a
// time: compiling them per run cost more than writing a short run's rows (an imported 46-row
// request spent a third of its time in sqlite3_prepare). The routing-rows table must already be
// registered on the connection.
struct RunStatements {
  explicit RunStatements(Connection& connection);

  Statement insert_prompt;
  Statement find_prompt;
  Statement insert_run;
  Statement insert_step;
  Statement insert_routing;
  Statement insert_timing;
  Statement insert_exchange;
  Statement insert_exchange_cell;
  Statement insert_offload;
  Statement insert_tokens;
  Statement insert_hits;
  Statement insert_overflow;
  Statement finish_run;
};

// own_transaction: the run is its own transaction (a savepoint inside an open one), rolled back
// unless finish() commits it. caller_transaction: the caller's open transaction holds the run and
// rolls it back on failure (an import: a whole file is one transaction, and a savepoint per
// 46-row request was a measurable share of its CPU).
enum class RunScope { own_transaction, caller_transaction };

class RunWriter {
 public:
  // Begins the run's transaction (own_transaction) and inserts its `runs` row (status
  // 'recording'). `statements` belong to `connection` and must outlive the writer.
  RunWriter(Connection& connection, RunStatements& statements, int64_t session_id, const RunInfo& info,
            const RecorderOptions& options, RunScope scope = RunScope::own_transaction);
  // Rolls the run back unless finish() committed it (own_transaction).
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  int64_t run_id() const { return run_id_; }
  void write_step(const StepRecord& step);
  void write_tokens(std::span<const TokenRecord> tokens);
  // Token counts the tokens written do not give (an import whose capture has the counts but not
  // the ids); replaces the counted ones.
  void set_token_counts(int64_t n_prompt_tokens, int64_t n_generated_tokens) {
    n_prompt_tokens_ = n_prompt_tokens;
    n_generated_tokens_ = n_generated_tokens;
  }
  // Writes hits, overflow and the run's totals, then commits (own_transaction).
  void finish(const RunEnd& end, double total_us);

  int64_t routing_rows() const { return routing_rows_; }
  int64_t topk_rows() const { return topk_rows_; }  // assignments: routing rows x top_k

 private:
  void check_layer(const LayerRouting& layer, const StepRecord& step) const;
  void write_offload(const StepRecord& step);
  void accumulate(const LayerRouting& layer, int32_t slot);

  RunStatements& sql_;
  std::optional<Transaction> transaction_;  // none: RunScope::caller_transaction
  RecorderOptions options_;
  RunInfo info_;
  int64_t run_id_ = 0;
  std::unordered_map<int32_t, int32_t> slot_of_layer_;

  std::vector<int32_t> cell_layer_;   // (n_layers, n_experts): the cell's layer index
  std::vector<int32_t> cell_expert_;  // (n_layers, n_experts): the cell's expert
  std::vector<int64_t> hits_;         // (n_layers, n_experts)
  std::vector<double> weight_sum_;    // (n_layers, n_experts)
  std::vector<int64_t> assigned_;     // (n_factors, n_layers, n_experts) assignments routed
  std::vector<int64_t> capacity_;     // (n_factors, n_layers, n_experts) summed over steps
  std::vector<int64_t> overflow_;     // (n_factors, n_layers, n_experts)
  std::vector<int64_t> step_counts_;  // (n_experts) scratch
  int64_t n_prompt_tokens_ = 0;
  int64_t n_generated_tokens_ = 0;
  double prefill_us_ = 0;
  double decode_us_ = 0;
  int64_t routing_rows_ = 0;
  int64_t topk_rows_ = 0;
};

// Current UTC time as ISO-8601 ("2025-01-31T12:00:00Z").
std::string utc_now();

}  // namespace moescope::sessions
