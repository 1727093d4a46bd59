#include "sessions/run_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sessions/schema.h"

namespace moescope::sessions {
namespace {

// What a column of a run's row may hold. Each rule is rendered twice: as SQL, so SQLite finds the
// first bad row without handing every row to C++, and as C++ over that one row, to say which value
// is wrong and why.
struct Rule {
  enum Kind { integer, real, text, blob, absent };
  std::string column;
  std::string label;  // how the message names the value ("expert id")
  Kind kind = integer;
  bool nullable = false;
  int64_t lo = 0, hi = 0;        // integer: inclusive bounds, unless `allowed` is given
  std::vector<int64_t> allowed;  // integer: the only values allowed (the run's MoE layers)
  std::string note;              // after the bounds: " (n_experts 256)"
};

struct TableCheck {
  std::string table;
  std::string run_filter;  // selects the run's rows, with the run id as ?1
  std::vector<std::string> keys;  // columns that locate a row in the message ("position 5, layer 2")
  std::vector<Rule> rules;
};

constexpr int64_t kMaxCount = int64_t{1} << 62;
constexpr int64_t kMaxRanks = 4096;
constexpr int64_t kMaxTimingLayer = 1 << 20;  // the reader's bound on moe_layers

std::string joined(const std::vector<int64_t>& values) {
  std::string text;
  for (int64_t value : values) text += (text.empty() ? "" : ", ") + std::to_string(value);
  return text;
}

std::string valid_sql(const Rule& rule) {
  const std::string& c = rule.column;
  std::string test;
  switch (rule.kind) {
    case Rule::integer:
      test = "typeof(" + c + ") = 'integer' AND " +
             (rule.allowed.empty() ? c + " BETWEEN " + std::to_string(rule.lo) + " AND " + std::to_string(rule.hi)
                                   : c + " IN (" + joined(rule.allowed) + ")");
      break;
    case Rule::real:  // finite: an infinity compares beyond the largest double
      test = "typeof(" + c + ") IN ('integer', 'real') AND " + c +
             " BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308";
      break;
    case Rule::text:
      test = "typeof(" + c + ") = 'text'";
      break;
    case Rule::blob:
      test = "typeof(" + c + ") = 'blob'";
      break;
    case Rule::absent:
      test = "0";
      break;
  }
  return rule.nullable || rule.kind == Rule::absent ? "(" + c + " IS NULL OR (" + test + "))" : "(" + test + ")";
}

std::string shown(const Statement& row, int column) {
  char text[48];
  switch (row.column_type(column)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_INTEGER:
      return std::to_string(row.column_int(column));
    case SQLITE_FLOAT:
      std::snprintf(text, sizeof text, "%g", row.column_double(column));
      return text;
    case SQLITE_BLOB:
      return "(a blob of " + std::to_string(row.column_blob(column).size()) + " bytes)";
    default: {
      std::string value = row.column_text(column);
      if (value.size() > 40) value = value.substr(0, 40) + "...";
      return "'" + value + "'";
    }
  }
}

// Why `rule` refuses the value at `column`, or "" when it does not.
std::string problem(const Rule& rule, const Statement& row, int column) {
  const int type = row.column_type(column);
  if (type == SQLITE_NULL) {
    return rule.nullable || rule.kind == Rule::absent ? "" : "is missing (NULL)";
  }
  switch (rule.kind) {
    case Rule::integer: {
      if (type != SQLITE_INTEGER) return "is not an integer";
      const int64_t value = row.column_int(column);
      if (!rule.allowed.empty()) {
        if (std::find(rule.allowed.begin(), rule.allowed.end(), value) != rule.allowed.end()) return "";
        return "is not one of " + joined(rule.allowed) + rule.note;
      }
      if (value >= rule.lo && value <= rule.hi) return "";
      return "is outside " + std::to_string(rule.lo) + ".." + std::to_string(rule.hi) + rule.note;
    }
    case Rule::real:
      if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) return "is not a number";
      return std::isfinite(row.column_double(column)) ? "" : "is not finite";
    case Rule::text:
      return type == SQLITE_TEXT ? "" : "is not text";
    case Rule::blob:
      return type == SQLITE_BLOB ? "" : "is not a blob";
    case Rule::absent:
      return "is set" + rule.note;
  }
  return "";
}

[[noreturn]] void refuse_value(const Connection& connection, int64_t run_id, const std::string& table,
                         const std::string& what) {
  throw InputError(connection.path().string() + ": run " + std::to_string(run_id) + ", table " + table + ": " +
                   what);
}

void check_table(Connection& connection, int64_t run_id, const TableCheck& check) {
  std::string columns;
  for (const std::string& key : check.keys) columns += key + ", ";
  std::string valid;
  for (const Rule& rule : check.rules) {
    columns += rule.column + ", ";
    valid += (valid.empty() ? "" : " AND ") + valid_sql(rule);
  }
  columns.resize(columns.size() - 2);
  Statement first_bad = connection.prepare("SELECT " + columns + " FROM " + check.table + " WHERE " +
                                           check.run_filter + " AND NOT (" + valid + ") LIMIT 1");
  first_bad.bind(1, run_id);
  if (!first_bad.step()) return;
  std::string where;
  for (size_t k = 0; k < check.keys.size(); ++k) {
    where += (k ? ", " : " at ") + check.keys[k] + " " + shown(first_bad, static_cast<int>(k));
  }
  for (size_t r = 0; r < check.rules.size(); ++r) {
    const int column = static_cast<int>(check.keys.size() + r);
    std::string why = problem(check.rules[r], first_bad, column);
    if (!why.empty()) refuse_value(connection, run_id, check.table, check.rules[r].label + " " + shown(first_bad, column) + where + " " + why);
  }
  // SQL and C++ disagree only if a rule above is wrong; still refuse rather than pass the row.
  refuse_value(connection, run_id, check.table, "a row" + where + " holds a value moescope never writes");
}

Rule integer(std::string column, std::string label, int64_t lo, int64_t hi, std::string note = "") {
  return {std::move(column), std::move(label), Rule::integer, false, lo, hi, {}, std::move(note)};
}
Rule one_of(std::string column, std::string label, std::vector<int64_t> allowed, std::string note) {
  return {std::move(column), std::move(label), Rule::integer, false, 0, 0, std::move(allowed), std::move(note)};
}
Rule real(std::string column, bool nullable = false) {
  std::string label = column;
  return {std::move(column), std::move(label), Rule::real, nullable, 0, 0, {}, ""};
}
Rule of_kind(Rule::Kind kind, std::string column, bool nullable, std::string note = "") {
  std::string label = column;
  return {std::move(column), std::move(label), kind, nullable, 0, 0, {}, std::move(note)};
}

// The model's vocabulary size from its stored config.json; 0 where it does not give one.
int64_t vocab_size_of(Connection& connection, int64_t model_id) {
  Statement query = connection.prepare(
      "SELECT CASE WHEN json_valid(config_json) THEN json_extract(config_json, '$.vocab_size') END"
      " FROM models WHERE id = ?1");
  query.bind(1, model_id);
  if (!query.step() || query.column_type(0) != SQLITE_INTEGER) return 0;
  const int64_t vocab = query.column_int(0);
  return vocab > 0 && vocab <= INT32_MAX ? vocab : 0;
}

// An imported run whose engine did not capture the combine weights stores them as NULL
// (sessions/importers/import_writer.cpp); every other run must have one per chosen expert.
// Files older than schema version 3 have no imported_runs table.
bool weights_not_captured(Connection& connection, int64_t run_id) {
  Statement has_table =
      connection.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'imported_runs'");
  if (!has_table.step()) return false;
  Statement query = connection.prepare(
      "SELECT 1 FROM imported_runs,"
      " json_each(CASE WHEN json_valid(not_captured) THEN not_captured ELSE '[]' END) AS field"
      " WHERE run_id = ?1 AND field.value = 'topk_weights'");
  query.bind(1, run_id);
  return query.step();
}

TableCheck runs_row_check() {
  const int64_t max_tokens = kMaxRoutingPosition + 1;
  return {"runs",
          "id = ?1",
          {},
          {integer("n_prompt_tokens", "n_prompt_tokens", 0, max_tokens),
           integer("n_generated_tokens", "n_generated_tokens", 0, max_tokens), real("prefill_us", true),
           real("decode_us", true), real("total_us", true), of_kind(Rule::text, "moe_layers", false),
           of_kind(Rule::text, "capacity_factors", false), of_kind(Rule::text, "settings_json", false)}};
}

}  // namespace

std::optional<int64_t> first_run_with_bad_row(Connection& connection) {
  std::string valid;
  for (const Rule& rule : runs_row_check().rules) valid += (valid.empty() ? "" : " AND ") + valid_sql(rule);
  Statement query = connection.prepare(
      "SELECT min(id) FROM (SELECT min(id) AS id FROM runs WHERE NOT (" + valid +
      ") UNION ALL SELECT min(r.id) FROM runs r LEFT JOIN models m ON m.id = r.model_id"
      " LEFT JOIN prompts p ON p.id = r.prompt_id WHERE m.id IS NULL OR (r.prompt_id IS NOT NULL AND p.id IS NULL))");
  if (!query.step() || query.column_is_null(0)) return std::nullopt;
  return query.column_int(0);
}

void check_run_row(Connection& connection, int64_t run_id) {
  check_table(connection, run_id, runs_row_check());
  // A run whose model (or prompt) row is gone would drop out of a join without a word.
  Statement links = connection.prepare(
      "SELECT r.model_id, m.id IS NULL, r.prompt_id, r.prompt_id IS NOT NULL AND p.id IS NULL FROM runs r"
      " LEFT JOIN models m ON m.id = r.model_id LEFT JOIN prompts p ON p.id = r.prompt_id WHERE r.id = ?1");
  links.bind(1, run_id);
  if (!links.step()) return;
  if (links.column_int(1))
    refuse_value(connection, run_id, "runs", "model_id " + shown(links, 0) + " names no row of table models");
  if (links.column_int(3))
    refuse_value(connection, run_id, "runs", "prompt_id " + shown(links, 2) + " names no row of table prompts");
}

void check_run_rows(Connection& connection, const RunSummary& run) {
  const int64_t E = run.n_experts;
  const int64_t k = run.top_k;
  const std::vector<int64_t> layers(run.moe_layers.begin(), run.moe_layers.end());
  const std::string experts_note = " (n_experts " + std::to_string(E) + ")";
  const std::string layers_note = " (the run's MoE layers)";
  const int64_t vocab = vocab_size_of(connection, run.model_id);
  const int64_t max_position = kMaxRoutingPosition;
  const bool weights_optional = weights_not_captured(connection, run.id);

  std::vector<Rule> routing = {integer("position", "position", 0, max_position),
                               one_of("layer", "layer", layers, layers_note),
                               integer("step", "step", 0, max_position)};
  for (int64_t r = 0; r < kMaxTopK; ++r) {
    const std::string name = "expert_" + std::to_string(r);
    if (r < k) {
      Rule expert = integer(name, "expert id", 0, E - 1, experts_note);
      expert.nullable = run.empty_slots;  // an empty slot: no expert took the token (expert choice)
      routing.push_back(expert);
    }
    else routing.push_back(of_kind(Rule::absent, name, true, ", but the run's top_k is " + std::to_string(k)));
  }
  for (int64_t r = 0; r < kMaxTopK; ++r) {
    const std::string name = "weight_" + std::to_string(r);
    if (r < k) routing.push_back(real(name, weights_optional || run.empty_slots));
    else routing.push_back(of_kind(Rule::absent, name, true, ", but the run's top_k is " + std::to_string(k)));
  }
  routing.push_back(integer("dropped_mask", "dropped_mask", 0, (int64_t{1} << k) - 1));
  routing.push_back(of_kind(Rule::blob, "scores", true));
  routing.push_back(of_kind(Rule::blob, "router_logits", true));

  const std::vector<TableCheck> checks = {
      {"tokens",
       "run_id = ?1",
       {"position"},
       {integer("position", "position", 0, max_position),
        vocab ? integer("token_id", "token id", 0, vocab - 1, " (vocab_size " + std::to_string(vocab) + ")")
              : integer("token_id", "token id", 0, INT32_MAX),
        of_kind(Rule::text, "display_text", false), integer("is_prompt", "is_prompt", 0, 1), real("logprob", true),
        real("kl_to_dropless", true)}},
      {"steps",
       "run_id = ?1",
       {"step"},
       {integer("step", "step", 0, max_position), integer("first_position", "first_position", 0, max_position),
        integer("n_tokens", "n_tokens", 0, max_position + 1), real("start_us"), real("duration_us")}},
      {"routing",
       "id BETWEEN ?1 * 4294967296 AND ?1 * 4294967296 + 4294967295",  // the run's rows (schema.h)
       {"position", "layer"},
       routing},
      {"expert_hits",
       "run_id = ?1",
       {"layer", "expert"},
       {one_of("layer", "layer", layers, layers_note), integer("expert", "expert id", 0, E - 1, experts_note),
        integer("hits", "hits", 0, kMaxCount), real("weight_sum")}},
      {"capacity_overflow",
       "run_id = ?1",
       {"capacity_factor", "layer", "expert"},
       {one_of("layer", "layer", layers, layers_note), integer("expert", "expert id", 0, E - 1, experts_note),
        real("capacity_factor"), integer("assigned", "assigned", 0, kMaxCount),
        integer("capacity", "capacity", 0, kMaxCount), integer("overflow", "overflow", 0, kMaxCount)}},
      {"timings",
       "run_id = ?1",
       {"step", "layer"},
       {integer("step", "step", 0, max_position), integer("layer", "layer", -1, kMaxTimingLayer),
        of_kind(Rule::text, "phase", false), real("start_us"), real("duration_us")}},
      {"all_to_all_steps",
       "run_id = ?1",
       {"step", "layer"},
       {integer("step", "step", 0, max_position), one_of("layer", "layer", layers, layers_note),
        integer("n_ranks", "n_ranks", 1, kMaxRanks), real("measured_us"), real("modeled_us")}},
      {"all_to_all",
       "run_id = ?1",
       {"step", "layer", "src_rank", "dst_rank"},
       {integer("step", "step", 0, max_position), one_of("layer", "layer", layers, layers_note),
        integer("src_rank", "src_rank", 0, kMaxRanks - 1), integer("dst_rank", "dst_rank", 0, kMaxRanks - 1),
        integer("tokens", "tokens", 0, kMaxCount), integer("bytes", "bytes", 0, kMaxCount)}},
      // A layer looks up each expert at most once per step (core/observer.h OffloadEvent).
      {"offload_steps",
       "run_id = ?1",
       {"step", "layer"},
       {integer("step", "step", 0, max_position), one_of("layer", "layer", layers, layers_note),
        integer("lookups", "lookups", 0, E, experts_note), integer("hits", "hits", 0, E, experts_note),
        integer("prefetched", "prefetched", 0, E, experts_note),
        integer("prefetch_hits", "prefetch_hits", 0, E, experts_note),
        integer("bytes_copied", "bytes_copied", 0, kMaxCount), real("copy_start_us"), real("copy_us"),
        real("stall_start_us"), real("stall_us")}},
  };
  for (const TableCheck& check : checks) check_table(connection, run.id, check);
}

}  // namespace moescope::sessions
