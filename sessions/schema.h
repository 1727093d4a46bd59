// The session file's schema: its DDL by version, the migrations between versions and the list of
// tables and columns a file must have before anything reads it. docs/session_schema.md explains
// every column.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace moescope::sessions {

// 'MoES' in PRAGMA application_id marks a moescope session among SQLite files.
inline constexpr int32_t kApplicationId = 0x4D6F4553;
// PRAGMA user_version of the files this build writes; newer files are refused.
inline constexpr int32_t kSchemaVersion = 4;
// Top-k ids and weights are columns of the routing row (expert_0.., weight_0..), so a routing row
// is one (token, MoE layer); every supported family routes to at most 8 experts.
inline constexpr int32_t kMaxTopK = 8;
// The routing row's key packs (run, position, layer) into one 64-bit rowid (see schema.cpp), which
// bounds the layer index to 8 bits and positions to 24 bits (DeepSeek-V3 has 61 layers; 16.7 M
// positions are far past any model's context).
inline constexpr int64_t kMaxRoutingLayer = 255;
inline constexpr int64_t kMaxRoutingPosition = (int64_t{1} << 24) - 1;
inline constexpr int64_t kMaxRunId = (int64_t{1} << 31) - 1;
// Callers keep run_id in [0, kMaxRunId + 1], position and layer within the bounds above.
inline constexpr int64_t routing_row_id(int64_t run_id, int64_t position, int64_t layer) {
  return run_id * (int64_t{1} << 32) + position * (int64_t{1} << 8) + layer;
}

struct Migration {
  int32_t to_version;    // applying `sql` to a file at to_version - 1 brings it to to_version
  std::string_view sql;  // one or more statements, run inside the caller's transaction
};
std::span<const Migration> migrations();

struct ExpectedTable {
  std::string_view name;
  std::span<const std::string_view> columns;  // in declaration order
};
std::span<const ExpectedTable> expected_tables();

}  // namespace moescope::sessions
