// CSV tables (RFC 4180): a header row, text quoted when it holds a comma, quote or line break,
// integers as written, reals with 17 significant digits so they parse back to the same double,
// NULL as an empty field. Score vectors get one file per run with a column per expert.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "sessions/export.h"
#include "sessions/reader.h"

namespace moescope::sessions {
namespace {

void write_text(std::ostream& out, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out << text;
    return;
  }
  out << '"';
  for (char c : text) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

void write_real(std::ostream& out, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  out << text;
}

std::ofstream open_output(const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw ResourceError(file.string() + ": cannot write the export file");
  return out;
}

// Writes every row of `sql` (run filter bound to ?1 when it has one) with its column names as header.
void write_query(Connection& connection, const std::string& sql, const ExportOptions& options,
                 const std::filesystem::path& file) {
  Statement query = connection.prepare(sql);
  if (options.run_id) query.bind(1, *options.run_id);
  std::ofstream out = open_output(file);
  for (int c = 0; c < query.column_count(); ++c) out << (c ? "," : "") << query.column_name(c);
  out << "\r\n";
  while (query.step()) {
    for (int c = 0; c < query.column_count(); ++c) {
      if (c) out << ',';
      switch (query.column_type(c)) {
        case SQLITE_INTEGER:
          out << query.column_int(c);
          break;
        case SQLITE_FLOAT:
          write_real(out, query.column_double(c));
          break;
        case SQLITE_NULL:
          break;
        default:
          write_text(out, query.column_text(c));
          break;
      }
    }
    out << "\r\n";
  }
  if (!out.flush()) throw ResourceError(file.string() + ": write failed (disk full?)");
}

std::string where_run(const ExportOptions& options, const char* column = "run_id") {
  return options.run_id ? std::string(" WHERE ") + column + " = ?1" : std::string();
}

}  // namespace

void export_csv(SessionReader& reader, const std::filesystem::path& out_dir, const ExportOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (!std::filesystem::is_directory(out_dir)) {
    throw InputError(out_dir.string() + ": cannot create the CSV export directory");
  }
  Connection& db = reader.connection();
  write_query(
      db,
      "SELECT r.id AS run_id, r.session_id, r.status, r.error, m.path AS model_path, m.model_type,"
      " p.tag, p.text AS prompt, r.backend, r.device, r.settings_json, r.n_experts, r.top_k, r.moe_layers,"
      " r.capacity_factors, r.started_at, r.finished_at, r.n_prompt_tokens, r.n_generated_tokens,"
      " r.prefill_us, r.decode_us, r.total_us FROM runs r JOIN models m ON m.id = r.model_id"
      " LEFT JOIN prompts p ON p.id = r.prompt_id" +
          where_run(options, "r.id") + " ORDER BY r.id",
      options, out_dir / "runs.csv");
  write_query(
      db,
      "SELECT run_id, position, token_id, display_text, is_prompt, logprob, kl_to_dropless FROM tokens" +
          where_run(options) + " ORDER BY run_id, position",
      options, out_dir / "tokens.csv");
  write_query(db,
              "SELECT run_id, step, first_position, n_tokens, start_us, duration_us FROM steps" +
                  where_run(options) + " ORDER BY run_id, step",
              options, out_dir / "steps.csv");
  write_query(
      db,
      "SELECT run_id, step, position, layer, expert_0, expert_1, expert_2, expert_3, expert_4, expert_5,"
      " expert_6, expert_7, weight_0, weight_1, weight_2, weight_3, weight_4, weight_5, weight_6, weight_7,"
      " dropped_mask FROM routing" +
          where_run(options) + " ORDER BY id",
      options, out_dir / "routing.csv");
  // The full (layer, expert) grid of every finished run, zeros included: writers since issue 21
  // store only the experts that were hit, earlier ones stored every cell, and the same run must
  // export the same table from either file. Runs with implausible dimensions or layer lists get no
  // grid (the reader refuses them; 65,536 experts is its limit too).
  write_query(db,
              "WITH RECURSIVE grid(run_id, expert, n_experts) AS ("
              " SELECT id, 0, n_experts FROM runs WHERE status <> 'recording' AND n_experts BETWEEN 1 AND 65536"
              " AND json_valid(moe_layers) AND json_type(moe_layers) = 'array'" +
                  std::string(options.run_id ? " AND id = ?1" : "") +
                  " UNION ALL SELECT run_id, expert + 1, n_experts FROM grid WHERE expert + 1 < n_experts)"
                  " SELECT g.run_id AS run_id, l.value AS layer, g.expert AS expert, coalesce(h.hits, 0) AS hits,"
                  " coalesce(h.weight_sum, 0.0) AS weight_sum"
                  " FROM grid g JOIN runs r ON r.id = g.run_id JOIN json_each(r.moe_layers) l"
                  " LEFT JOIN expert_hits h ON h.run_id = g.run_id AND h.layer = l.value AND h.expert = g.expert"
                  " ORDER BY g.run_id, l.value, g.expert",
              options, out_dir / "expert_hits.csv");
  write_query(
      db,
      "SELECT run_id, layer, expert, capacity_factor, assigned, capacity, overflow FROM capacity_overflow" +
          where_run(options) + " ORDER BY run_id, capacity_factor, layer, expert",
      options, out_dir / "capacity_overflow.csv");
  write_query(db,
              "SELECT run_id, step, layer, phase, start_us, duration_us FROM timings" + where_run(options) +
                  " ORDER BY run_id, step, start_us, rowid",
              options, out_dir / "timings.csv");
  write_query(db,
              "SELECT a.run_id, a.step, a.layer, a.src_rank, a.dst_rank, a.tokens, a.bytes, s.measured_us, "
              "s.modeled_us"
              " FROM all_to_all a JOIN all_to_all_steps s USING (run_id, step, layer)" +
                  where_run(options, "a.run_id") +
                  " ORDER BY a.run_id, a.step, a.layer, a.src_rank, a.dst_rank",
              options, out_dir / "all_to_all.csv");
  write_query(db,
              "SELECT run_id, step, layer, lookups, hits, lookups - hits AS misses, prefetched, prefetch_hits,"
              " bytes_copied, copy_start_us,"
              " copy_us, stall_start_us, stall_us FROM offload_steps" +
                  where_run(options) + " ORDER BY run_id, step, layer",
              options, out_dir / "offload.csv");

  // Score vectors: decoded from their float16 BLOBs, one column per expert.
  std::vector<RunSummary> runs =
      options.run_id ? std::vector<RunSummary>{reader.run(*options.run_id)} : reader.runs();
  for (const RunSummary& run : runs) {
    if (run.status != "complete") continue;
    analysis::RoutingArrays arrays = reader.routing(run.id, {.scores = true, .router_logits = false});
    if (!arrays.has_scores()) continue;
    auto file = out_dir / ("scores_run_" + std::to_string(run.id) + ".csv");
    std::ofstream out = open_output(file);
    out << "position,layer,step";
    for (int32_t e = 0; e < arrays.n_experts; ++e) out << ",expert_" << e;
    out << "\r\n";
    for (int32_t t = 0; t < arrays.n_tokens; ++t) {
      for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
        out << t << ',' << arrays.layer_ids[slot] << ',' << arrays.step_of_token[t];
        const float* scores = arrays.scores.data() + arrays.score_offset(slot, t);
        for (int32_t e = 0; e < arrays.n_experts; ++e) {
          out << ',';
          write_real(out, scores[e]);
        }
        out << "\r\n";
      }
    }
    if (!out.flush()) throw ResourceError(file.string() + ": write failed (disk full?)");
  }
}

}  // namespace moescope::sessions
