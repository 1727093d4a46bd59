// One forward step's routing rows as an eponymous virtual table, so the writer inserts a whole step
// with one `INSERT INTO routing SELECT ... FROM moescope_routing_rows(?1)` instead of stepping one
// bound statement per row: SQLite's per-statement work (24 binds, step, reset) was about a fifth of
// the writer's CPU (docs/perf.md). The rows are produced from the step's arrays as SQLite reads
// them, so nothing is copied on the way.
//
// The step travels as a pointer bound with sqlite3_bind_pointer under kRoutingRowsPointerType:
// SQL text cannot forge one, and without one the table is empty. The table is DIRECTONLY (never
// usable from a schema object).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>

#include "sessions/step_record.h"

namespace moescope::sessions {

inline constexpr const char* kRoutingRowsPointerType = "moescope_routing_rows";

// The rows of one step, in (position, layer) order: the routing table's key order.
struct RoutingRows {
  int64_t run_id = 0;
  int32_t step = 0;
  int64_t first_position = 0;
  int32_t n_tokens = 0;
  int32_t top_k = 0;  // at most kMaxTopK (the table's expert_0..expert_7 columns)
  int32_t n_experts = 0;
  std::span<const LayerRouting* const> layers;  // ascending layer; each checked by the caller
  bool store_scores = true;
  bool store_router_logits = false;
  bool store_weights = true;  // false: weight_0.. are NULL
};

// Registers `moescope_routing_rows` on `db` (once per connection). Its columns are the routing
// table's, in the same order, then the hidden argument.
void register_routing_rows_table(sqlite3* db);

}  // namespace moescope::sessions
