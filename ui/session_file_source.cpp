#include "ui/session_file_source.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>

#include "sessions/reader.h"
#include "sessions/schema.h"

namespace moescope::ui {
namespace {

// The list's summary of a run, from a checked RunSummary or an unchecked RunListing (the same fields).
template <typename Run>
RunSummary to_summary(const Run& s) {
  RunSummary out;
  out.id = s.id;
  out.tag = s.tag;
  out.prompt = s.prompt_text;
  out.status = s.status;
  out.backend = s.backend;
  out.device = s.device;
  out.n_prompt_tokens = static_cast<int32_t>(s.n_prompt_tokens);
  out.n_tokens = static_cast<int32_t>(s.n_prompt_tokens + s.n_generated_tokens);
  return out;
}

class FileSource final : public SessionSource {
 public:
  // The model card from the newest run, read (and checked) on its own: opening a session of
  // 100,000 runs reads one run, not all of them.
  explicit FileSource(const std::filesystem::path& file) : reader_(file) {
    auto newest = reader_.connection().prepare("SELECT max(id) FROM runs");
    if (newest.step() && !newest.column_is_null(0)) card_ = card_for(reader_.run(newest.column_int(0)));
  }

  std::string label() const override { return reader_.path().string(); }

  ModelCard model() const override { return card_; }

  // The listing only: each run is checked when it is loaded (load_run), so a damaged run gives
  // its one-line error when it is opened, and the other runs stay usable.
  std::vector<RunSummary> runs() override {
    std::vector<RunSummary> out;
    for (const auto& r : reader_.run_listing()) out.push_back(to_summary(r));
    return out;
  }

  std::shared_ptr<RunData> load_run(int64_t run_id) override {
    auto run = std::make_shared<RunData>();
    const sessions::RunSummary recorded = reader_.run(run_id);
    run->summary = to_summary(recorded);
    run->routing = reader_.routing(run_id);
    if (auto info = reader_.import_info(run_id)) {
      run->imported_from = info->engine;
      run->not_captured = info->not_captured;
    }
    bool any_kl = false;
    for (const auto& t : reader_.tokens(run_id)) {
      // A capture without text (an import without --tokenizer) still has the token ids.
      run->token_text.push_back(t.display_text.empty() ? "[" + std::to_string(t.token_id) + "]" : t.display_text);
      run->generated.push_back(t.is_prompt ? 0 : 1);
      run->kl_to_dropless.push_back(t.kl_to_dropless.value_or(std::nan("")));
      any_kl = any_kl || t.kl_to_dropless.has_value();
    }
    if (!any_kl) run->kl_to_dropless.clear();
    // Routing covers every token the engine ran; the text list may lack the last sampled token.
    run->token_text.resize(static_cast<size_t>(run->routing.n_tokens));
    run->generated.resize(static_cast<size_t>(run->routing.n_tokens), 1);
    if (any_kl) run->kl_to_dropless.resize(static_cast<size_t>(run->routing.n_tokens), std::nan(""));
    load_enforcement(run_id, recorded.settings_json, *run);
    for (const auto& row : reader_.timings(run_id)) {
      TimingZone z;
      if (!phase_from_name(row.phase, z.phase)) continue;  // a phase this build does not draw
      z.step = row.step;
      z.layer = row.layer;
      z.start_us = row.start_us;
      z.duration_us = row.duration_us;
      run->timings.push_back(z);
    }
    std::sort(run->timings.begin(), run->timings.end(), [](const TimingZone& a, const TimingZone& b) {
      return a.step != b.step ? a.step < b.step : a.start_us < b.start_us;
    });
    for (auto& a : reader_.all_to_all(run_id)) {
      run->traffic.push_back({a.step, a.layer, a.n_ranks, std::move(a.tokens), std::move(a.bytes), a.modeled_us, a.measured_us});
    }
    run->offload = reader_.offload(run_id);
    if (!run->offload.empty()) {
      // Written by `run`/`record` (app/engine_flags.cpp add_offload_settings); absent in files from
      // other writers, which then show no cache size.
      const auto settings = nlohmann::json::parse(reader_.run(run_id).settings_json, nullptr, false);
      if (settings.is_object() && settings.contains("expert_cache_slots") && settings["expert_cache_slots"].is_number_integer())
        run->offload_slots = std::clamp(settings["expert_cache_slots"].get<int32_t>(), 0, run->routing.n_experts);
      if (settings.is_object() && settings.contains("offload_policy") && settings["offload_policy"].is_string())
        run->offload_policy = settings["offload_policy"].get<std::string>();
    }
    return run;
  }

  // From expert_hits (sessions::SessionReader), one query per tag: per run when they fit, summed
  // here; otherwise only the sums. No run's routing is read.
  std::optional<TagLoads> tag_loads(const std::string& tag, size_t max_per_run_cells) override {
    const sessions::TagExpertLoad shape = reader_.tag_expert_shape(tag);
    TagLoads out;
    out.layer_ids = shape.layer_ids;
    out.n_experts = shape.n_experts;
    const size_t cells = shape.hits.size();
    if (cells > 0 && static_cast<size_t>(shape.n_runs) > max_per_run_cells / cells) {
      const sessions::TagExpertLoad load = reader_.tag_expert_load(tag);
      out.counts.assign(load.hits.begin(), load.hits.end());
      out.per_run_left_out = true;
      return out;
    }
    const auto runs = reader_.run_expert_loads(tag, shape);
    if (!runs.empty()) out.counts.assign(cells, 0.0);
    for (const auto& run : runs) {
      for (size_t i = 0; i < cells; ++i) out.counts[i] += static_cast<double>(run.hits[i]);
      out.per_run.emplace_back(run.hits.begin(), run.hits.end());
    }
    return out;
  }

 private:
  ModelCard card_for(const sessions::RunSummary& r) {
    ModelCard card;
    card.name = std::filesystem::path(r.model_path).filename().string();
    if (card.name.empty()) card.name = r.model_path;
    card.family = r.model_type;
    card.n_moe_layers = static_cast<int64_t>(r.moe_layers.size());
    card.n_experts = r.n_experts;
    card.top_k = r.top_k;
    // Totals live in the models table; the reader's connection is the sessions API's own.
    auto stmt = reader_.connection().prepare(
        "SELECT family, n_layers, n_shared_experts, parameter_count, active_parameter_count FROM models WHERE id = ?");
    stmt.bind(1, r.model_id);
    if (stmt.step()) {
      card.family = stmt.column_text(0);
      card.n_layers = stmt.column_int(1);
      card.n_shared_experts = stmt.column_int(2);
      card.total_params = stmt.column_int(3);
      card.active_params = stmt.column_int(4);
    }
    return card;
  }

  // The capacity factor from the run's settings and the assignments its enforcement dropped per
  // token (routing.dropped_mask, one bit per top-k slot), for runs recorded with
  // --enforce-capacity. The routing was checked by reader_.routing() before this reads it.
  void load_enforcement(int64_t run_id, const std::string& settings_json, RunData& run) {
    const auto settings = nlohmann::json::parse(settings_json, nullptr, false);
    if (!settings.is_object() || !settings.contains("enforce_capacity_factor") || !settings["enforce_capacity_factor"].is_number()) return;
    const double factor = settings["enforce_capacity_factor"].get<double>();
    if (!(factor > 0) || !std::isfinite(factor)) return;
    run.enforce_capacity_factor = factor;
    const int32_t n_tokens = run.routing.n_tokens;
    run.dropped_per_token.assign(static_cast<size_t>(n_tokens), 0);
    const uint64_t slots = run.routing.top_k >= 64 ? ~uint64_t{0} : (uint64_t{1} << run.routing.top_k) - 1;
    auto query = reader_.connection().prepare(
        "SELECT position, dropped_mask FROM routing WHERE id BETWEEN ? AND ? AND dropped_mask != 0");
    query.bind(1, sessions::routing_row_id(run_id, 0, 0)).bind(2, sessions::routing_row_id(run_id + 1, 0, 0) - 1);
    while (query.step()) {
      const int64_t position = query.column_int(0);
      if (position < 0 || position >= n_tokens) continue;  // outside the routing the check accepted
      run.dropped_per_token[static_cast<size_t>(position)] += std::popcount(static_cast<uint64_t>(query.column_int(1)) & slots);
    }
  }

  mutable sessions::SessionReader reader_;
  ModelCard card_;
};

}  // namespace

bool phase_from_name(std::string_view name, Phase& phase) {
  for (int i = 0; i < kPhaseCount; ++i) {
    if (phase_name(static_cast<Phase>(i)) == name) {
      phase = static_cast<Phase>(i);
      return true;
    }
  }
  return false;
}

std::unique_ptr<SessionSource> open_session_source(const std::filesystem::path& file) {
  return std::make_unique<FileSource>(file);
}

}  // namespace moescope::ui
