#include "tests/ui/session_fixture.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/analysis/capacity.h"
#include "sessions/recorder.h"

namespace moescope::test {
namespace {

void write_run(sessions::SessionWriter& writer, int64_t model_id, const ui::RunData& run, double enforce_capacity_factor) {
  const auto& r = run.routing;
  sessions::RunInfo info;
  info.model_id = model_id;
  info.prompt_text = run.summary.prompt;
  info.tag = run.summary.tag;
  info.backend = "cpu";
  info.device = "synthetic";
  // The settings `run` writes for an enforced run and for a run with offloaded experts
  // (app/engine_flags.cpp).
  nlohmann::json settings = nlohmann::json::object();
  if (enforce_capacity_factor > 0) settings["enforce_capacity_factor"] = enforce_capacity_factor;
  if (run.offload_slots > 0) {
    settings["offload_policy"] = run.offload_policy;
    settings["expert_cache_slots"] = run.offload_slots;
  }
  info.settings_json = settings.dump();
  info.moe_layers = r.layer_ids;
  info.n_experts = r.n_experts;
  info.top_k = r.top_k;
  writer.begin_run(info);
  ForwardObserver& obs = writer.observer();
  size_t next_timing = 0, next_traffic = 0, next_offload = 0;  // all sorted by step
  std::vector<uint8_t> dropped;
  int32_t t0 = 0;
  while (t0 < r.n_tokens) {
    const int64_t step = r.step_of_token[static_cast<size_t>(t0)];
    int32_t t1 = t0;
    while (t1 < r.n_tokens && r.step_of_token[static_cast<size_t>(t1)] == step) ++t1;
    const StepInfo si{step, t0, t1 - t0};
    obs.on_step_begin(si);
    for (int32_t l = 0; l < r.n_layers; ++l) {
      const size_t k_off = r.topk_offset(l, t0), k_len = static_cast<size_t>(t1 - t0) * r.top_k;
      const size_t s_off = r.score_offset(l, t0), s_len = static_cast<size_t>(t1 - t0) * r.n_experts;
      RoutingEvent e;
      e.step = step;
      e.layer = r.layer_ids[static_cast<size_t>(l)];
      e.first_position = t0;
      e.n_tokens = t1 - t0;
      e.n_experts = r.n_experts;
      e.top_k = r.top_k;
      e.router_logits = std::span<const float>(r.scores.data() + s_off, s_len);
      e.scores = std::span<const float>(r.scores.data() + s_off, s_len);
      e.topk_ids = std::span<const int32_t>(r.topk_ids.data() + k_off, k_len);
      e.topk_weights = std::span<const float>(r.topk_weights.data() + k_off, k_len);
      if (enforce_capacity_factor > 0) {
        dropped.assign(k_len, 0);
        analysis::capacity_drop_mask(e.topk_ids, e.topk_weights, t1 - t0, r.top_k, r.n_experts, enforce_capacity_factor,
                                     analysis::OverflowOrder::token_order, dropped);
        e.dropped = dropped;
      }
      obs.on_routing(e);
    }
    for (; next_timing < run.timings.size() && run.timings[next_timing].step == step; ++next_timing) {
      const auto& z = run.timings[next_timing];
      obs.on_timing({z.step, z.layer, z.phase, z.start_us, z.duration_us});
    }
    for (; next_traffic < run.traffic.size() && run.traffic[next_traffic].step == step; ++next_traffic) {
      const auto& m = run.traffic[next_traffic];
      AllToAllEvent e{m.step, m.layer, m.n_ranks, m.tokens, m.bytes, m.measured_us, m.modeled_us};
      obs.on_all_to_all(e);
    }
    for (; next_offload < run.offload.size() && run.offload[next_offload].step == step; ++next_offload)
      obs.on_offload(run.offload[next_offload]);
    obs.on_step_end(si, {});
    t0 = t1;
  }
  std::vector<sessions::TokenRecord> tokens;
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    tokens.push_back({t, r.token_ids[static_cast<size_t>(t)], run.token_text[static_cast<size_t>(t)], run.generated[static_cast<size_t>(t)] == 0,
                      std::nullopt,
                      enforce_capacity_factor > 0 && run.generated[static_cast<size_t>(t)] ? std::optional<double>(kl_to_dropless_of(t))
                                                                                            : std::nullopt});
  }
  writer.add_tokens(tokens);
  writer.end_run({sessions::RunStatus::complete, ""});
}

}  // namespace

double kl_to_dropless_of(int32_t position) { return 0.001 * (position % 13) + 0.0005; }

std::vector<std::shared_ptr<ui::RunData>> write_synthetic_session(const std::filesystem::path& file, const ui::SyntheticSpec& spec,
                                                                  double enforce_capacity_factor) {
  auto source = ui::make_synthetic_source(spec);
  sessions::SessionWriter writer(file, "test");
  sessions::ModelInfo model;
  model.path = "/synthetic/model";
  model.model_type = "mixtral";
  model.family = "mixtral";
  model.config_json = "{}";
  model.n_layers = spec.n_layers;
  model.n_experts = spec.n_experts;
  model.top_k = spec.top_k > 0 ? spec.top_k : 2;
  const int64_t model_id = writer.add_model(model);
  std::vector<std::shared_ptr<ui::RunData>> runs;
  for (const auto& summary : source->runs()) {
    runs.push_back(source->load_run(summary.id));
    write_run(writer, model_id, *runs.back(), enforce_capacity_factor);
  }
  writer.flush();
  return runs;
}

}  // namespace moescope::test
