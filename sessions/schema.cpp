#include "sessions/schema.h"

#include <array>

namespace moescope::sessions {
namespace {

// Version 1 as first released; version 2 rebuilds its routing table (below). One routing row per
// (token, MoE layer) with the top-k as columns: a row per assignment would multiply the rows SQLite
// must build (and the reader must step through) by k, which is what bounds both rates.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  command TEXT NOT NULL,
  host TEXT NOT NULL
);
CREATE TABLE models(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  model_type TEXT NOT NULL,
  family TEXT NOT NULL,
  config_json TEXT NOT NULL,
  n_layers INTEGER NOT NULL,
  n_experts INTEGER NOT NULL,
  top_k INTEGER NOT NULL,
  n_shared_experts INTEGER NOT NULL,
  parameter_count INTEGER NOT NULL,
  active_parameter_count INTEGER NOT NULL,
  UNIQUE(path, config_json)
);
CREATE TABLE prompts(
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  tag TEXT NOT NULL DEFAULT '',
  UNIQUE(text, tag)
);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  model_id INTEGER NOT NULL REFERENCES models(id),
  prompt_id INTEGER REFERENCES prompts(id),
  status TEXT NOT NULL CHECK(status IN ('recording', 'complete', 'failed')),
  error TEXT,
  backend TEXT NOT NULL,
  device TEXT NOT NULL,
  settings_json TEXT NOT NULL,
  moe_layers TEXT NOT NULL,
  n_experts INTEGER NOT NULL,
  top_k INTEGER NOT NULL,
  capacity_factors TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  n_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  n_generated_tokens INTEGER NOT NULL DEFAULT 0,
  prefill_us REAL,
  decode_us REAL,
  total_us REAL
);
CREATE INDEX runs_by_prompt ON runs(prompt_id);
CREATE TABLE tokens(
  run_id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  token_id INTEGER NOT NULL,
  display_text TEXT NOT NULL,
  is_prompt INTEGER NOT NULL,
  logprob REAL,
  kl_to_dropless REAL,
  PRIMARY KEY(run_id, position)
) WITHOUT ROWID;
CREATE TABLE steps(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  first_position INTEGER NOT NULL,
  n_tokens INTEGER NOT NULL,
  start_us REAL NOT NULL,
  duration_us REAL NOT NULL,
  PRIMARY KEY(run_id, step)
) WITHOUT ROWID;
CREATE TABLE routing(
  run_id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  step INTEGER NOT NULL,
  expert_0 INTEGER, expert_1 INTEGER, expert_2 INTEGER, expert_3 INTEGER,
  expert_4 INTEGER, expert_5 INTEGER, expert_6 INTEGER, expert_7 INTEGER,
  weight_0 REAL, weight_1 REAL, weight_2 REAL, weight_3 REAL,
  weight_4 REAL, weight_5 REAL, weight_6 REAL, weight_7 REAL,
  dropped_mask INTEGER NOT NULL,
  scores BLOB,
  router_logits BLOB,
  PRIMARY KEY(run_id, position, layer)
) WITHOUT ROWID;
CREATE TABLE expert_hits(
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  weight_sum REAL NOT NULL,
  PRIMARY KEY(run_id, layer, expert)
) WITHOUT ROWID;
CREATE TABLE capacity_overflow(
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  capacity_factor REAL NOT NULL,
  assigned INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  overflow INTEGER NOT NULL,
  PRIMARY KEY(run_id, layer, expert, capacity_factor)
) WITHOUT ROWID;
CREATE TABLE timings(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  phase TEXT NOT NULL,
  start_us REAL NOT NULL,
  duration_us REAL NOT NULL
);
CREATE INDEX timings_by_run ON timings(run_id, step);
CREATE TABLE all_to_all(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  src_rank INTEGER NOT NULL,
  dst_rank INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY(run_id, step, layer, src_rank, dst_rank)
) WITHOUT ROWID;
CREATE TABLE all_to_all_steps(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  n_ranks INTEGER NOT NULL,
  measured_us REAL NOT NULL,
  modeled_us REAL NOT NULL,
  PRIMARY KEY(run_id, step, layer)
) WITHOUT ROWID;
)sql";


// Version 2: routing becomes a rowid table keyed by id = run_id * 2^32 + position * 2^8 + layer.
// The recorder writes a run's rows in (position, layer) order and run ids only grow, so every
// insert appends at the B-tree's right edge through SQLite's rowid append path, without the
// composite-key comparisons a WITHOUT ROWID table costs per insert (about 40 % of the writer's CPU,
// docs/perf.md). A run's rows are the id range [run_id * 2^32, (run_id + 1) * 2^32).
constexpr std::string_view kMigrationV2 = R"sql(
CREATE TABLE routing_v2(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  step INTEGER NOT NULL,
  expert_0 INTEGER, expert_1 INTEGER, expert_2 INTEGER, expert_3 INTEGER,
  expert_4 INTEGER, expert_5 INTEGER, expert_6 INTEGER, expert_7 INTEGER,
  weight_0 REAL, weight_1 REAL, weight_2 REAL, weight_3 REAL,
  weight_4 REAL, weight_5 REAL, weight_6 REAL, weight_7 REAL,
  dropped_mask INTEGER NOT NULL,
  scores BLOB,
  router_logits BLOB
);
INSERT INTO routing_v2 SELECT run_id * 4294967296 + position * 256 + layer, * FROM routing
  ORDER BY run_id, position, layer;
DROP TABLE routing;
ALTER TABLE routing_v2 RENAME TO routing;
)sql";

// Version 3: runs imported from other engines (SGLang, vLLM, transformers; `moescope import`) are
// marked with where they came from and which fields the capture had, so views can say "not
// captured" instead of showing zeros. A recorded run has no row here. One table, created the same
// way in a fresh file (which applies every migration in turn) and in an upgraded one, so both
// files' sqlite_schema are identical.
constexpr std::string_view kMigrationV3 = R"sql(
CREATE TABLE imported_runs(
  run_id INTEGER PRIMARY KEY,
  engine TEXT NOT NULL,
  engine_version TEXT NOT NULL DEFAULT '',
  source_file TEXT NOT NULL,
  request_id TEXT NOT NULL DEFAULT '',
  captured TEXT NOT NULL,
  not_captured TEXT NOT NULL
);
)sql";

// Version 4: the offload profile. A CUDA run with routed experts offloaded to host memory
// (--offload-experts) reports, per forward step and MoE layer, how its expert cache did
// (core/observer.h OffloadEvent); a run without offloading has no rows. Misses are lookups - hits.
// Like version 3, one new table, so an upgraded file's sqlite_schema equals a fresh file's.
constexpr std::string_view kMigrationV4 = R"sql(
CREATE TABLE offload_steps(
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  lookups INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  prefetched INTEGER NOT NULL,
  prefetch_hits INTEGER NOT NULL,
  bytes_copied INTEGER NOT NULL,
  copy_start_us REAL NOT NULL,
  copy_us REAL NOT NULL,
  stall_start_us REAL NOT NULL,
  stall_us REAL NOT NULL,
  PRIMARY KEY(run_id, step, layer)
) WITHOUT ROWID;
)sql";

constexpr std::array kMigrations{Migration{1, kSchemaV1}, Migration{2, kMigrationV2}, Migration{3, kMigrationV3},
                                 Migration{4, kMigrationV4}};

constexpr std::array<std::string_view, 4> kSessions{"id", "started_at", "command", "host"};
constexpr std::array<std::string_view, 11> kModels{
    "id",        "path",  "model_type",       "family",          "config_json",           "n_layers",
    "n_experts", "top_k", "n_shared_experts", "parameter_count", "active_parameter_count"};
constexpr std::array<std::string_view, 3> kPrompts{"id", "text", "tag"};
constexpr std::array<std::string_view, 20> kRuns{"id",
                                                 "session_id",
                                                 "model_id",
                                                 "prompt_id",
                                                 "status",
                                                 "error",
                                                 "backend",
                                                 "device",
                                                 "settings_json",
                                                 "moe_layers",
                                                 "n_experts",
                                                 "top_k",
                                                 "capacity_factors",
                                                 "started_at",
                                                 "finished_at",
                                                 "n_prompt_tokens",
                                                 "n_generated_tokens",
                                                 "prefill_us",
                                                 "decode_us",
                                                 "total_us"};
constexpr std::array<std::string_view, 7> kTokens{"run_id",    "position", "token_id",      "display_text",
                                                  "is_prompt", "logprob",  "kl_to_dropless"};
constexpr std::array<std::string_view, 6> kSteps{"run_id",   "step",     "first_position",
                                                 "n_tokens", "start_us", "duration_us"};
constexpr std::array<std::string_view, 24> kRouting{
    "id",       "run_id",   "position", "layer",    "step",     "expert_0",     "expert_1", "expert_2",     "expert_3",
    "expert_4", "expert_5", "expert_6", "expert_7", "weight_0",     "weight_1", "weight_2",     "weight_3",
    "weight_4", "weight_5", "weight_6", "weight_7", "dropped_mask", "scores",   "router_logits"};
constexpr std::array<std::string_view, 5> kExpertHits{"run_id", "layer", "expert", "hits", "weight_sum"};
constexpr std::array<std::string_view, 7> kCapacityOverflow{
    "run_id", "layer", "expert", "capacity_factor", "assigned", "capacity", "overflow"};
constexpr std::array<std::string_view, 6> kTimings{"run_id", "step",     "layer",
                                                   "phase",  "start_us", "duration_us"};
constexpr std::array<std::string_view, 7> kAllToAll{"run_id",   "step",   "layer", "src_rank",
                                                    "dst_rank", "tokens", "bytes"};
constexpr std::array<std::string_view, 6> kAllToAllSteps{"run_id",  "step",        "layer",
                                                         "n_ranks", "measured_us", "modeled_us"};

constexpr std::array<std::string_view, 7> kImportedRuns{"run_id",     "engine",   "engine_version", "source_file",
                                                        "request_id", "captured", "not_captured"};

constexpr std::array<std::string_view, 12> kOffloadSteps{
    "run_id",        "step",          "layer",        "lookups",       "hits",    "prefetched",
    "prefetch_hits", "bytes_copied", "copy_start_us", "copy_us", "stall_start_us", "stall_us"};

constexpr std::array kTables{
    ExpectedTable{"sessions", kSessions},
    ExpectedTable{"models", kModels},
    ExpectedTable{"prompts", kPrompts},
    ExpectedTable{"runs", kRuns},
    ExpectedTable{"tokens", kTokens},
    ExpectedTable{"steps", kSteps},
    ExpectedTable{"routing", kRouting},
    ExpectedTable{"expert_hits", kExpertHits},
    ExpectedTable{"capacity_overflow", kCapacityOverflow},
    ExpectedTable{"timings", kTimings},
    ExpectedTable{"all_to_all", kAllToAll},
    ExpectedTable{"all_to_all_steps", kAllToAllSteps},
    ExpectedTable{"imported_runs", kImportedRuns},
    ExpectedTable{"offload_steps", kOffloadSteps},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }
std::span<const ExpectedTable> expected_tables() { return kTables; }

}  // namespace moescope::sessions
