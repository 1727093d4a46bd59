#include "sessions/routing_rows_table.h"

#include <new>
#include <vector>

#include "sessions/float16.h"
#include "sessions/schema.h"
#include "sessions/sql.h"

namespace moescope::sessions {
namespace {

// Column numbers, as declared below (the routing table's order).
enum Column : int {
  kId = 0,
  kRunId,
  kPosition,
  kLayer,
  kStep,
  kExpert0,                 // expert_0 .. expert_7
  kWeight0 = kExpert0 + 8,  // weight_0 .. weight_7
  kDroppedMask = kWeight0 + 8,
  kScores,
  kRouterLogits,
  kRowsArgument,  // HIDDEN: the bound RoutingRows pointer
};

struct Cursor {
  sqlite3_vtab_cursor base{};
  const RoutingRows* rows = nullptr;
  int64_t row = 0;
  int64_t n_rows = 0;
  // The current row's float16 scores and logits, one buffer each: SQLite reads both blobs, without
  // copying them, before it asks for the next row.
  std::vector<std::byte> scores_f16;
  std::vector<std::byte> logits_f16;

  int64_t token() const { return row / static_cast<int64_t>(rows->layers.size()); }
  const LayerRouting& layer() const {
    return *rows->layers[static_cast<size_t>(row % static_cast<int64_t>(rows->layers.size()))];
  }
};

int connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** table, char**) {
  int rc = sqlite3_declare_vtab(
      db,
      "CREATE TABLE x(id, run_id, position, layer, step, expert_0, expert_1, expert_2, expert_3, expert_4,"
      " expert_5, expert_6, expert_7, weight_0, weight_1, weight_2, weight_3, weight_4, weight_5, weight_6,"
      " weight_7, dropped_mask, scores, router_logits, rows HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *table = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
  if (*table == nullptr) return SQLITE_NOMEM;
  **table = sqlite3_vtab{};
  return SQLITE_OK;
}

int disconnect(sqlite3_vtab* table) {
  sqlite3_free(table);
  return SQLITE_OK;
}

// The only plan: the rows argument as the filter's one value. Without it the table is empty.
int best_index(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& constraint = info->aConstraint[i];
    if (constraint.iColumn == kRowsArgument && constraint.op == SQLITE_INDEX_CONSTRAINT_EQ &&
        constraint.usable) {
      info->aConstraintUsage[i].argvIndex = 1;
      info->aConstraintUsage[i].omit = 1;
      info->idxNum = 1;
      break;
    }
  }
  info->estimatedCost = 1;
  return SQLITE_OK;
}

int open_cursor(sqlite3_vtab*, sqlite3_vtab_cursor** cursor) {
  auto* created = new (std::nothrow) Cursor;
  if (created == nullptr) return SQLITE_NOMEM;
  *cursor = &created->base;
  return SQLITE_OK;
}

Cursor& cursor_of(sqlite3_vtab_cursor* base) { return *reinterpret_cast<Cursor*>(base); }

int close_cursor(sqlite3_vtab_cursor* base) {
  delete &cursor_of(base);
  return SQLITE_OK;
}

int filter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  Cursor& cursor = cursor_of(base);
  cursor.rows = idx_num == 1 && argc == 1
                    ? static_cast<const RoutingRows*>(sqlite3_value_pointer(argv[0], kRoutingRowsPointerType))
                    : nullptr;
  cursor.row = 0;
  cursor.n_rows =
      cursor.rows ? int64_t{cursor.rows->n_tokens} * static_cast<int64_t>(cursor.rows->layers.size()) : 0;
  return SQLITE_OK;
}

int next(sqlite3_vtab_cursor* base) {
  ++cursor_of(base).row;
  return SQLITE_OK;
}

int eof(sqlite3_vtab_cursor* base) { return cursor_of(base).row >= cursor_of(base).n_rows; }

void result_float16(const Cursor& cursor, sqlite3_context* context, const std::vector<float>& values,
                    std::vector<std::byte>& buffer) {
  const auto n_experts = static_cast<size_t>(cursor.rows->n_experts);
  buffer.resize(2 * n_experts);
  encode_float16_le(std::span(values).subspan(static_cast<size_t>(cursor.token()) * n_experts, n_experts),
                    buffer.data(), Float16Path::fastest);
  sqlite3_result_blob(context, buffer.data(), static_cast<int>(buffer.size()), SQLITE_STATIC);
}

int column(sqlite3_vtab_cursor* base, sqlite3_context* context, int column) {
  Cursor& cursor = cursor_of(base);
  const RoutingRows& rows = *cursor.rows;
  const LayerRouting& layer = cursor.layer();
  const int64_t token = cursor.token();
  const int64_t position = rows.first_position + token;
  const auto k = static_cast<size_t>(rows.top_k);
  const size_t first_assignment = static_cast<size_t>(token) * k;
  if (column >= kExpert0 && column < kWeight0) {
    const auto r = static_cast<size_t>(column - kExpert0);
    if (r < k) sqlite3_result_int64(context, layer.topk_ids[first_assignment + r]);
    return SQLITE_OK;  // columns past top_k stay NULL
  }
  if (column >= kWeight0 && column < kDroppedMask) {
    const auto r = static_cast<size_t>(column - kWeight0);
    if (r < k && rows.store_weights)
      sqlite3_result_double(context, static_cast<double>(layer.topk_weights[first_assignment + r]));
    return SQLITE_OK;
  }
  switch (column) {
    case kId:
      sqlite3_result_int64(context, routing_row_id(rows.run_id, position, layer.layer));
      break;
    case kRunId:
      sqlite3_result_int64(context, rows.run_id);
      break;
    case kPosition:
      sqlite3_result_int64(context, position);
      break;
    case kLayer:
      sqlite3_result_int64(context, layer.layer);
      break;
    case kStep:
      sqlite3_result_int64(context, rows.step);
      break;
    case kDroppedMask: {
      int64_t mask = 0;
      for (size_t r = 0; !layer.dropped.empty() && r < k; ++r) {
        if (layer.dropped[first_assignment + r] != 0) mask |= int64_t{1} << r;
      }
      sqlite3_result_int64(context, mask);
      break;
    }
    case kScores:
      if (rows.store_scores && !layer.scores.empty())
        result_float16(cursor, context, layer.scores, cursor.scores_f16);
      break;
    case kRouterLogits:
      if (rows.store_router_logits && !layer.router_logits.empty())
        result_float16(cursor, context, layer.router_logits, cursor.logits_f16);
      break;
    default:
      break;  // the hidden argument reads as NULL
  }
  return SQLITE_OK;
}

int rowid(sqlite3_vtab_cursor* base, sqlite3_int64* id) {
  *id = cursor_of(base).row;
  return SQLITE_OK;
}

// Eponymous only (no xCreate): the table exists in every schema of the connection, read-only.
sqlite3_module routing_rows_module() {
  sqlite3_module module{};
  module.xConnect = connect;
  module.xBestIndex = best_index;
  module.xDisconnect = disconnect;
  module.xDestroy = disconnect;
  module.xOpen = open_cursor;
  module.xClose = close_cursor;
  module.xFilter = filter;
  module.xNext = next;
  module.xEof = eof;
  module.xColumn = column;
  module.xRowid = rowid;
  return module;
}

const sqlite3_module kModule = routing_rows_module();

}  // namespace

void register_routing_rows_table(sqlite3* db) {
  SQL_CHECK(db, sqlite3_create_module_v2(db, kRoutingRowsPointerType, &kModule, nullptr, nullptr));
}

}  // namespace moescope::sessions
