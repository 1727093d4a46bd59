#include "sessions/routing_rows_table.h"

#include <vector>

#include "sessions/float16.h"
#include "sessions/pointer_rows_table.h"
#include "sessions/schema.h"

namespace moescope::sessions {
namespace routing_rows_vtab {

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

struct RoutingRowsTable {
  using Rows = RoutingRows;
  // The current row's float16 scores and logits, one buffer each: SQLite reads both blobs, without
  // copying them, before it asks for the next row.
  struct Scratch {
    std::vector<std::byte> scores_f16;
    std::vector<std::byte> logits_f16;
  };
  static constexpr const char* kPointerType = kRoutingRowsPointerType;
  static constexpr const char* kDeclaration =
      "CREATE TABLE x(id, run_id, position, layer, step, expert_0, expert_1, expert_2, expert_3, expert_4,"
      " expert_5, expert_6, expert_7, weight_0, weight_1, weight_2, weight_3, weight_4, weight_5, weight_6,"
      " weight_7, dropped_mask, scores, router_logits, rows HIDDEN)";
  static constexpr int kRowsArgument = routing_rows_vtab::kRowsArgument;

  static int64_t count(const RoutingRows& rows) {
    return int64_t{rows.n_tokens} * static_cast<int64_t>(rows.layers.size());
  }

  static void result_float16(const RoutingRows& rows, int64_t token, sqlite3_context* context,
                             const std::vector<float>& values, std::vector<std::byte>& buffer) {
    const auto n_experts = static_cast<size_t>(rows.n_experts);
    buffer.resize(2 * n_experts);
    encode_float16_le(std::span(values).subspan(static_cast<size_t>(token) * n_experts, n_experts), buffer.data(),
                      Float16Path::fastest);
    sqlite3_result_blob(context, buffer.data(), static_cast<int>(buffer.size()), SQLITE_STATIC);
  }

  // Rows are in (position, layer) order: row = token * n_layers + layer slot.
  static void column(const RoutingRows& rows, int64_t row, Scratch& scratch, sqlite3_context* context,
                     int column) {
    const auto n_layers = static_cast<int64_t>(rows.layers.size());
    const LayerRouting& layer = *rows.layers[static_cast<size_t>(row % n_layers)];
    const int64_t token = row / n_layers;
    const int64_t position = rows.first_position + token;
    const auto k = static_cast<size_t>(rows.top_k);
    const size_t first_assignment = static_cast<size_t>(token) * k;
    if (column >= kExpert0 && column < kWeight0) {
      const auto r = static_cast<size_t>(column - kExpert0);
      // Columns past top_k, and empty slots (kNoExpert: expert choice), stay NULL.
      if (r < k && layer.topk_ids[first_assignment + r] >= 0)
        sqlite3_result_int64(context, layer.topk_ids[first_assignment + r]);
      return;
    }
    if (column >= kWeight0 && column < kDroppedMask) {
      const auto r = static_cast<size_t>(column - kWeight0);
      if (r < k && rows.store_weights && layer.topk_ids[first_assignment + r] >= 0)
        sqlite3_result_double(context, static_cast<double>(layer.topk_weights[first_assignment + r]));
      return;
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
          result_float16(rows, token, context, layer.scores, scratch.scores_f16);
        break;
      case kRouterLogits:
        if (rows.store_router_logits && !layer.router_logits.empty())
          result_float16(rows, token, context, layer.router_logits, scratch.logits_f16);
        break;
      default:
        break;
    }
  }
};

}  // namespace routing_rows_vtab

void register_routing_rows_table(sqlite3* db) {
  register_pointer_rows_table<routing_rows_vtab::RoutingRowsTable>(db);
}

}  // namespace moescope::sessions
