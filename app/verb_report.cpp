// `moescope report`: the runs of a session file, or one run's routing metrics per MoE layer (load
// balance, router losses, capacity overflow, expert-parallel traffic, the offloaded expert cache)
// as a table or JSON.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/checked_flags.h"
#include "app/verb_registry.h"
#include "core/analysis/capacity.h"
#include "core/analysis/co_activation.h"
#include "core/analysis/layer_metrics.h"
#include "core/analysis/offload_profile.h"
#include "core/terminal_text.h"
#include "core/error.h"
#include "sessions/default_path.h"
#include "sessions/reader.h"

namespace moescope {
namespace {

struct ReportArgs {
  std::string db;
  int64_t run_id = 0;
  bool json = false;
  std::vector<double> capacity_factors;  // --capacity: overflow recomputed for these; default the run's
};

// What an enforced-capacity run actually did: its factor, the assignments it dropped, and the KL of
// each token's next-token distribution to the dropless run's.
struct EnforcedCapacity {
  double factor = 0.0;  // 0: the run was dropless
  int64_t dropped = 0;
  int64_t assignments = 0;
  double kl_mean = 0.0, kl_max = 0.0;
  int64_t kl_tokens = 0;
};

EnforcedCapacity enforced_capacity(sessions::SessionReader& reader, const sessions::RunSummary& run,
                                   const analysis::RoutingArrays& arrays) {
  EnforcedCapacity out;
  const auto settings = nlohmann::json::parse(run.settings_json, nullptr, false);
  if (settings.is_object() && settings.contains("enforce_capacity_factor") && settings["enforce_capacity_factor"].is_number())
    out.factor = settings["enforce_capacity_factor"].get<double>();
  if (out.factor <= 0) return out;
  out.assignments = static_cast<int64_t>(arrays.topk_ids.size());
  // dropped_mask has one bit per top-k slot.
  auto query = reader.connection().prepare("SELECT dropped_mask FROM routing WHERE run_id = ? AND dropped_mask != 0");
  query.bind(1, run.id);
  while (query.step()) out.dropped += std::popcount(static_cast<uint64_t>(query.column_int(0)));
  for (const auto& token : reader.tokens(run.id)) {
    if (!token.kl_to_dropless) continue;
    out.kl_mean += *token.kl_to_dropless;
    out.kl_max = std::max(out.kl_max, *token.kl_to_dropless);
    ++out.kl_tokens;
  }
  if (out.kl_tokens) out.kl_mean /= static_cast<double>(out.kl_tokens);
  return out;
}

// A run's expert-parallel exchanges summed per MoE layer over its steps (recorded by `run
// --ep-degree R` with R > 1): bytes sent between ranks (the diagonal stays on its rank), the modelled
// and the measured time of the all-to-alls.
struct LayerTraffic {
  int32_t layer = 0;
  int32_t n_ranks = 0;
  int64_t steps = 0;
  int64_t bytes_between_ranks = 0;
  int64_t bytes_on_rank = 0;
  double modeled_us = 0.0;
  double measured_us = 0.0;
};

std::vector<LayerTraffic> ep_traffic_per_layer(const std::vector<sessions::AllToAllStep>& exchanges) {
  std::vector<LayerTraffic> layers;
  for (const sessions::AllToAllStep& exchange : exchanges) {
    auto it = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.layer == exchange.layer; });
    if (it == layers.end()) {
      layers.push_back({.layer = exchange.layer, .n_ranks = exchange.n_ranks});
      it = layers.end() - 1;
    }
    ++it->steps;
    it->n_ranks = std::max(it->n_ranks, exchange.n_ranks);
    for (int32_t src = 0; src < exchange.n_ranks; ++src) {
      for (int32_t dst = 0; dst < exchange.n_ranks; ++dst) {
        const int64_t bytes = exchange.bytes[static_cast<size_t>(src) * static_cast<size_t>(exchange.n_ranks) +
                                             static_cast<size_t>(dst)];
        (src == dst ? it->bytes_on_rank : it->bytes_between_ranks) += bytes;
      }
    }
    it->modeled_us += exchange.modeled_us;
    it->measured_us += exchange.measured_us;
  }
  std::sort(layers.begin(), layers.end(), [](const auto& a, const auto& b) { return a.layer < b.layer; });
  return layers;
}

// Per MoE layer: how often two experts were in one token's top-k (pair_count, diagonal = the
// expert's own count) and the share P(j | i) a uniform router would give.
nlohmann::json co_activation_json(const analysis::RoutingArrays& arrays) {
  nlohmann::json layers = nlohmann::json::array();
  const double baseline = analysis::co_activation_uniform_baseline(arrays.n_experts, arrays.top_k);
  for (int32_t slot = 0; slot < arrays.n_layers; ++slot) {
    const analysis::CoActivation co = analysis::co_activation(arrays, slot);
    nlohmann::json rows = nlohmann::json::array();
    for (int32_t i = 0; i < co.n_experts; ++i) {
      const auto first = co.pair_count.begin() + static_cast<ptrdiff_t>(i) * co.n_experts;
      rows.push_back(std::vector<int64_t>(first, first + co.n_experts));
    }
    layers.push_back({{"layer", arrays.layer_ids[static_cast<size_t>(slot)]},
                      {"pair_count", std::move(rows)},
                      {"uniform_conditional", baseline}});
  }
  return layers;
}

nlohmann::json offload_totals_json(const analysis::OffloadTotals& t) {
  nlohmann::json j = {{"steps", t.steps},
                      {"lookups", t.lookups},
                      {"hits", t.hits},
                      {"misses", t.misses()},
                      {"hit_rate", t.hit_rate()},
                      {"prefetched", t.prefetched},
                      {"prefetch_hits", t.prefetch_hits},
                      {"bytes_copied", t.bytes_copied},
                      {"copy_us", t.copy_us},
                      {"stall_us", t.stall_us}};
  if (t.layer >= 0) j["layer"] = t.layer;
  return j;
}

// null for a run that kept its experts on the GPU.
nlohmann::json offload_json(const analysis::OffloadProfile& profile) {
  if (profile.empty()) return nullptr;
  nlohmann::json layers = nlohmann::json::array();
  for (const analysis::OffloadTotals& layer : profile.layers) layers.push_back(offload_totals_json(layer));
  return {{"layers", std::move(layers)}, {"run", offload_totals_json(profile.run)}};
}

// The expert cache per MoE layer, summed over the run's steps (recorded by a CUDA run with
// --offload-experts).
void print_offload(const analysis::OffloadProfile& profile) {
  if (profile.empty()) {
    std::printf("\nexpert offloading: none recorded (record with --backend cuda --offload-experts)\n");
    return;
  }
  // Prefetch columns only for runs that prefetched (--offload-prefetch).
  const bool prefetch = profile.run.prefetched > 0;
  const auto row = [prefetch](const char* label, const analysis::OffloadTotals& t) {
    std::printf("%5s %9lld %9lld %8.3f %12.1f %11.1f %11.1f", label, static_cast<long long>(t.lookups),
                static_cast<long long>(t.misses()), t.hit_rate(), static_cast<double>(t.bytes_copied) / 1e6,
                t.copy_us / 1e3, t.stall_us / 1e3);
    if (prefetch)
      std::printf(" %10lld %13lld", static_cast<long long>(t.prefetched), static_cast<long long>(t.prefetch_hits));
    std::printf("\n");
  };
  std::printf("\nexpert offloading per layer (summed over the run's steps; a lookup is one expert once per step):\n");
  std::printf("%5s %9s %9s %8s %12s %11s %11s", "layer", "lookups", "misses", "hit rate", "MB copied", "copy ms",
              "stall ms");
  if (prefetch) std::printf(" %10s %13s", "prefetched", "prefetch hits");
  std::printf("\n");
  for (const analysis::OffloadTotals& layer : profile.layers) row(std::to_string(layer.layer).c_str(), layer);
  row("all", profile.run);
}

nlohmann::json summary_json(const sessions::RunSummary& run) {
  return {{"id", run.id},
          {"status", run.status},
          {"error", run.error},
          {"model_path", run.model_path},
          {"model_type", run.model_type},
          {"tag", run.tag},
          {"prompt", run.prompt_text},
          {"backend", run.backend},
          {"device", run.device},
          {"n_prompt_tokens", run.n_prompt_tokens},
          {"n_generated_tokens", run.n_generated_tokens},
          {"prefill_us", run.prefill_us},
          {"decode_us", run.decode_us},
          {"total_us", run.total_us},
          {"started_at", run.started_at}};
}

void list_runs(sessions::SessionReader& reader, bool json) {
  auto runs = reader.runs();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& run : runs) out.push_back(summary_json(run));
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%s: %zu runs\n", terminal_safe(reader.path().string()).c_str(), runs.size());
  std::printf("%5s  %-9s %-12s %-10s %6s %6s  %-5s %10s  %s\n", "run", "status", "model", "tag", "prompt",
              "gen", "back", "total ms", "started");
  for (const auto& run : runs) {
    std::printf("%5lld  %-9s %-12.12s %-10.10s %6lld %6lld  %-5s %10.1f  %s\n",
                static_cast<long long>(run.id), terminal_safe(run.status).c_str(),
                terminal_safe(run.model_type).c_str(), terminal_safe(run.tag).c_str(),
                static_cast<long long>(run.n_prompt_tokens), static_cast<long long>(run.n_generated_tokens),
                terminal_safe(run.backend).c_str(), run.total_us / 1000.0,
                terminal_safe(run.started_at).c_str());
  }
}

std::string optional_text(const std::optional<double>& value) {
  if (!value || std::isnan(*value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", *value);
  return text;
}

// The whole per-layer catalogue (docs/metrics.md), metrics as rows and layers as columns in blocks of
// eight, then each metric's percentiles across layers.
void print_catalogue(const analysis::RunMetrics& metrics) {
  if (metrics.layers.empty()) return;
  std::vector<std::vector<std::pair<std::string, double>>> per_layer;
  for (const auto& layer : metrics.layers) per_layer.push_back(analysis::scalar_metrics(layer));
  constexpr size_t kLayersPerBlock = 8;
  for (size_t first = 0; first < per_layer.size(); first += kLayersPerBlock) {
    const size_t last = std::min(per_layer.size(), first + kLayersPerBlock);
    std::printf("\n%-28s", "metric \\ layer");
    for (size_t l = first; l < last; ++l) std::printf(" %10d", metrics.layers[l].layer_id);
    std::printf("\n");
    for (size_t m = 0; m < per_layer[first].size(); ++m) {
      const std::string& key = per_layer[first][m].first;
      std::printf("%-28s", key.c_str());
      for (size_t l = first; l < last; ++l) {
        // Optional metrics can be absent in some layers (e.g. the last layer's transition).
        auto it = std::find_if(per_layer[l].begin(), per_layer[l].end(), [&](const auto& kv) { return kv.first == key; });
        if (it == per_layer[l].end() || std::isnan(it->second)) std::printf(" %10s", "-");
        else std::printf(" %10.4f", it->second);
      }
      std::printf("\n");
    }
  }
  std::printf("\n%-28s %10s %10s %10s %10s\n", "across layers", "p50", "p75", "p90", "p95");
  for (const auto& p : metrics.percentiles)
    std::printf("%-28s %10.4f %10.4f %10.4f %10.4f\n", p.key.c_str(), p.p50, p.p75, p.p90, p.p95);
}

void report_run(sessions::SessionReader& reader, int64_t run_id, bool json, const std::vector<double>& factors) {
  sessions::RunSummary run = reader.run(run_id);
  if (run.status != "complete") {
    throw InputError(reader.path().string() + ": run " + std::to_string(run_id) + " is " + run.status +
                     (run.error.empty() ? "" : " (" + run.error + ")") +
                     "; only complete runs have a report");
  }
  analysis::RoutingArrays arrays = reader.routing(run_id, {.scores = true, .router_logits = true});
  analysis::MetricsOptions options;
  if (!run.capacity_factors.empty()) options.capacity_factors = run.capacity_factors;
  if (!factors.empty()) options.capacity_factors = factors;
  analysis::RunMetrics metrics = analysis::compute_run_metrics(arrays, options);
  sessions::OverflowTable overflow = reader.capacity_overflow(run_id);
  const std::optional<sessions::ImportInfo> imported = reader.import_info(run_id);
  const EnforcedCapacity enforced = enforced_capacity(reader, run, arrays);
  // Overflow for any factor, recomputed from the routing (the stored table has the recorded factors).
  std::vector<analysis::CapacityOverflow> simulated;
  for (double factor : options.capacity_factors) simulated.push_back(analysis::simulate_capacity(arrays, factor));

  const std::vector<LayerTraffic> traffic = ep_traffic_per_layer(reader.all_to_all(run_id));
  const analysis::OffloadProfile offload = analysis::summarise_offload(reader.offload(run_id));

  std::vector<int64_t> overflow_per_factor(overflow.capacity_factors.size(), 0);
  std::vector<int64_t> assigned_per_factor(overflow.capacity_factors.size(), 0);
  const size_t per_factor = overflow.layer_ids.size() * static_cast<size_t>(overflow.n_experts);
  for (size_t f = 0; f < overflow.capacity_factors.size(); ++f) {
    for (size_t i = 0; i < per_factor; ++i) {
      overflow_per_factor[f] += overflow.overflow[f * per_factor + i];
      assigned_per_factor[f] += overflow.assigned[f * per_factor + i];
    }
  }

  if (json) {
    nlohmann::json out = {{"run", summary_json(run)}, {"metrics", analysis::to_json(metrics)}};
    nlohmann::json stored = nlohmann::json::array();
    for (size_t f = 0; f < overflow.capacity_factors.size(); ++f) {
      stored.push_back({{"capacity_factor", overflow.capacity_factors[f]},
                        {"overflow", overflow_per_factor[f]},
                        {"assigned", assigned_per_factor[f]}});
    }
    out["capacity_overflow"] = std::move(stored);
    nlohmann::json recomputed = nlohmann::json::array();
    for (const auto& sim : simulated)
      recomputed.push_back({{"capacity_factor", sim.capacity_factor},
                            {"overflow", sim.n_dropped},
                            {"assigned", sim.n_assignments},
                            {"drop_rate", analysis::drop_rate(sim)}});
    out["capacity_overflow_recomputed"] = std::move(recomputed);
    if (enforced.factor > 0)
      out["enforced_capacity"] = {{"capacity_factor", enforced.factor},
                                  {"dropped", enforced.dropped},
                                  {"assignments", enforced.assignments},
                                  {"kl_to_dropless_mean", enforced.kl_mean},
                                  {"kl_to_dropless_max", enforced.kl_max}};
    nlohmann::json ep = nlohmann::json::array();  // empty: the run emulated no expert parallelism
    for (const LayerTraffic& layer : traffic)
      ep.push_back({{"layer", layer.layer},
                    {"n_ranks", layer.n_ranks},
                    {"steps", layer.steps},
                    {"bytes_between_ranks", layer.bytes_between_ranks},
                    {"bytes_on_rank", layer.bytes_on_rank},
                    {"modeled_us", layer.modeled_us},
                    // The CPU engine emulates the exchange: nothing to measure.
                    {"measured_us", layer.measured_us > 0 ? nlohmann::json(layer.measured_us) : nlohmann::json()}});
    out["ep_traffic"] = std::move(ep);
    out["offload"] = offload_json(offload);
    out["co_activation"] = co_activation_json(arrays);
    if (imported) {
      out["imported"] = {{"engine", imported->engine},          {"engine_version", imported->engine_version},
                         {"source_file", imported->source_file}, {"request_id", imported->request_id},
                         {"captured", imported->captured},       {"not_captured", imported->not_captured}};
    }
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }

  std::printf(
      "run %lld: %s [%s] on %s (%s), %lld prompt + %lld generated tokens, %d MoE layers, %d experts, "
      "top-%d\n",
      static_cast<long long>(run.id), terminal_safe(run.model_type).c_str(), terminal_safe(run.tag).c_str(),
      terminal_safe(run.device).c_str(), terminal_safe(run.backend).c_str(),
      static_cast<long long>(run.n_prompt_tokens), static_cast<long long>(run.n_generated_tokens),
      arrays.n_layers, arrays.n_experts, arrays.top_k);
  if (imported) {
    // An import has no timings, and perhaps no weights or scores: say so rather than print zeros.
    std::string missing;
    for (const auto& field : imported->not_captured) missing += (missing.empty() ? "" : ", ") + field;
    std::printf("imported from %s%s%s, request %s of %s\nnot captured: %s\n", terminal_safe(imported->engine).c_str(),
                imported->engine_version.empty() ? "" : " ", terminal_safe(imported->engine_version).c_str(),
                terminal_safe(imported->request_id).c_str(), terminal_safe(imported->source_file).c_str(), missing.empty() ? "-" : terminal_safe(missing).c_str());
    if (!imported->has("scores"))
      std::printf("(no router scores: the metrics that need them show '-')\n");
    if (!imported->has("steps"))
      std::printf("(no batching: the whole request is one step, so capacity drop rates treat it as one batch)\n");
    std::printf("\n");
  } else {
    std::printf("prefill %.1f ms, decode %.1f ms\n\n", run.prefill_us / 1000.0, run.decode_us / 1000.0);
  }
  std::printf("%5s %8s %7s %7s %7s %8s %8s %8s", "layer", "max/mean", "cv", "gini", "balance", "aux_loss",
              "entropy", "z-loss");
  for (double factor : options.capacity_factors) std::printf("  drop@%-4g", factor);
  std::printf("\n");
  for (const analysis::LayerMetrics& layer : metrics.layers) {
    std::printf("%5d %8.3f %7.3f %7.3f %7.3f %8s %8s %8s", layer.layer_id, layer.max_over_mean, layer.cv,
                layer.gini, layer.balancedness, optional_text(layer.aux_loss).c_str(),
                optional_text(layer.token_entropy).c_str(), optional_text(layer.z_loss).c_str());
    for (const analysis::DropRate& drop : layer.drop_rates) std::printf("  %8.2f%%", 100.0 * drop.rate);
    std::printf("\n");
  }
  print_catalogue(metrics);
  if (enforced.factor > 0) {
    std::printf("\nenforced capacity factor %g: %lld of %lld assignments dropped (%.2f%%)", enforced.factor,
                static_cast<long long>(enforced.dropped), static_cast<long long>(enforced.assignments),
                enforced.assignments ? 100.0 * static_cast<double>(enforced.dropped) / static_cast<double>(enforced.assignments) : 0.0);
    if (enforced.kl_tokens)
      std::printf("; KL to dropless mean %.4g, max %.4g nats per token", enforced.kl_mean, enforced.kl_max);
    std::printf("\n");
  }
  if (traffic.empty()) {
    std::printf("\nexpert-parallel traffic: none recorded (record with run --ep-degree R for R > 1 ranks)\n");
  } else {
    std::printf("\nexpert-parallel traffic per layer (dispatch, summed over %lld steps; %d ranks):\n",
                static_cast<long long>(traffic.front().steps), traffic.front().n_ranks);
    std::printf("%5s %16s %14s %12s %12s\n", "layer", "bytes to others", "bytes on rank", "modeled us", "measured us");
    for (const LayerTraffic& layer : traffic) {
      char measured[32] = "-";  // emulated (CPU engine): nothing was measured
      if (layer.measured_us > 0) std::snprintf(measured, sizeof measured, "%.1f", layer.measured_us);
      std::printf("%5d %16lld %14lld %12.1f %12s\n", layer.layer, static_cast<long long>(layer.bytes_between_ranks),
                  static_cast<long long>(layer.bytes_on_rank), layer.modeled_us, measured);
    }
  }
  print_offload(offload);
  std::printf("\ncapacity overflow recomputed from the routing (token order, per layer and step):\n");
  for (const auto& sim : simulated)
    std::printf("  C=%-5g %8lld of %lld assignments (%.2f%%)\n", sim.capacity_factor, static_cast<long long>(sim.n_dropped),
                static_cast<long long>(sim.n_assignments), 100.0 * analysis::drop_rate(sim));
  std::printf("\nstored capacity overflow (assignments beyond ceil(C*T*k/E) per expert, layer and step):\n");
  for (size_t f = 0; f < overflow.capacity_factors.size(); ++f) {
    double share = assigned_per_factor[f] ? 100.0 * overflow_per_factor[f] / assigned_per_factor[f] : 0.0;
    std::printf("  C=%-5g %8lld of %lld assignments (%.2f%%)\n", overflow.capacity_factors[f],
                static_cast<long long>(overflow_per_factor[f]),
                static_cast<long long>(assigned_per_factor[f]), share);
  }
}

void add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "List a session's runs, or one run's routing metrics per layer");
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  cmd->add_option("--run", args->run_id, "Report this run")->check(integer_in(1, INT64_MAX));
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->add_option("--capacity", args->capacity_factors, "Capacity factors to compute overflow for, e.g. 1,1.1,1.25")
      ->delimiter(',')
      ->check(finite_number_in(1e-6, 1e6));
  cmd->callback([args] {
    std::filesystem::path db =
        args->db.empty() ? sessions::default_session_path() : std::filesystem::path(args->db);
    sessions::SessionReader reader(db);
    if (args->run_id != 0) {  // 0: not given (a given --run is at least 1)
      report_run(reader, args->run_id, args->json, args->capacity_factors);
    } else {
      list_runs(reader, args->json);
    }
  });
}

}  // namespace

MOESCOPE_REGISTER_VERB(report, add_report);

}  // namespace moescope
