// `moescope placement`: where experts should live under expert parallelism, from recorded routing.
// One placement for the whole model (run --ep-degree takes one expert -> rank map), computed from
// every MoE layer's load summed; printed per layer: the rank loads and the modelled all-to-all
// before (contiguous) and after.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "app/verb_registry.h"
#include "core/analysis/ep_placement.h"
#include "core/analysis/ep_traffic.h"
#include "core/analysis/load_metrics.h"
#include "core/error.h"
#include "core/model_config.h"
#include "sessions/placement_file.h"
#include "sessions/reader.h"

namespace moescope {
namespace {

struct PlacementArgs {
  std::string db;
  int64_t run_id = 0;
  std::string tag;
  int32_t ranks = 0;
  std::string method = "balanced";
  int32_t replicas = 0;
  std::string interconnect = "nvlink4";
  std::string out;
  bool json = false;
};

double max_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
}

void run_placement(const PlacementArgs& args) {
  if (args.run_id > 0 && !args.tag.empty()) fail_input("give --run or --tag, not both");
  if (args.run_id <= 0 && args.tag.empty())
    fail_input("give --run N or --tag T: the runs whose routing to place");
  const auto link = analysis::interconnect_preset(args.interconnect);
  if (!link) fail_input("--interconnect '" + args.interconnect + "': expected nvlink4, pcie5 or ib400");
  sessions::SessionReader reader(args.db);
  const std::vector<int64_t> runs =
      args.run_id > 0 ? std::vector<int64_t>{args.run_id} : reader.runs_with_tag(args.tag);
  if (runs.empty()) fail_input(args.db + ": no complete run is tagged '" + args.tag + "'");

  std::vector<analysis::RoutingArrays> routing;
  for (int64_t run : runs) routing.push_back(reader.routing(run, {.scores = false, .router_logits = false}));
  const auto& first = routing.front();
  for (const auto& r : routing)
    if (r.n_experts != first.n_experts || r.layer_ids != first.layer_ids)
      fail_input("the runs tagged '" + args.tag +
                 "' come from different models: place one model's runs at a time");
  const sessions::RunSummary summary = reader.run(runs.front());
  auto query = reader.connection().prepare("SELECT config_json FROM models WHERE id = ?");
  query.bind(1, summary.model_id);
  if (!query.step()) fail_input(args.db + ": run " + std::to_string(summary.id) + " names no stored model");
  const ModelConfig config = parse_model_config(query.column_text(0), args.db + " (the run's config)");

  const int32_t E = first.n_experts, L = first.n_layers;
  if (args.ranks < 1 || args.ranks > E)
    fail_input("--ranks " + std::to_string(args.ranks) + " must be in [1, " + std::to_string(E) +
               "] (the experts)");
  std::vector<double> layer_load(static_cast<size_t>(L) * E, 0.0),
      total(static_cast<size_t>(E), 0.0);  // (L, E), (E)
  for (const auto& r : routing)
    for (int32_t l = 0; l < L; ++l) {
      const auto load = analysis::expert_load(r, l);
      for (int32_t e = 0; e < E; ++e)
        layer_load[static_cast<size_t>(l) * E + e] += load[e], total[e] += load[e];
    }

  const analysis::ExpertPlacement before = analysis::contiguous_placement(E, args.ranks);
  analysis::ExpertPlacement after;
  if (args.method == "contiguous")
    after = before;
  else if (args.method == "balanced")
    after = analysis::balanced_placement(total, args.ranks);
  else if (args.method == "eplb")
    after = analysis::eplb_placement(total, args.ranks, args.replicas, before).placement;
  else
    fail_input("--method '" + args.method + "': expected contiguous, balanced or eplb");
  if (args.replicas > 0 && args.method != "eplb") fail_input("--replicas applies to --method eplb only");

  nlohmann::json out{{"method", args.method},
                     {"ranks", args.ranks},
                     {"runs", runs},
                     {"interconnect", link->name},
                     {"layers", nlohmann::json::array()}};
  if (!args.json) {
    std::printf(
        "%s placement of %d experts on %d ranks from %zu run(s); rank load max/mean and modelled all-to-all "
        "(%s)\n",
        args.method.c_str(), E, args.ranks, runs.size(), link->name.c_str());
    std::printf("%-6s %12s %12s %14s %14s\n", "layer", "before", "after", "a2a before us", "a2a after us");
  }
  for (int32_t l = 0; l < L; ++l) {
    const std::span<const double> load(layer_load.data() + static_cast<size_t>(l) * E, E);
    const auto rank_before = analysis::rank_load(load, before), rank_after = analysis::rank_load(load, after);
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / args.ranks;
    double us_before = 0, us_after = 0;
    for (const auto& r : routing) {
      // Only this layer: a one-layer view of the run's routing.
      analysis::RoutingArrays one = r;
      one.n_layers = 1;
      one.layer_ids = {r.layer_ids[l]};
      one.topk_ids.assign(
          r.topk_ids.begin() + static_cast<std::ptrdiff_t>(r.topk_offset(l, 0)),
          r.topk_ids.begin() +
              static_cast<std::ptrdiff_t>(r.topk_offset(l, 0) + static_cast<size_t>(r.n_tokens) * r.top_k));
      one.topk_weights.assign(one.topk_ids.size(), 0.0f);
      one.scores.clear();
      one.router_logits.clear();
      for (const auto& step : analysis::run_traffic(one, before, config.hidden_size, 2))
        us_before += analysis::modeled_step_us(step, *link);
      for (const auto& step : analysis::run_traffic(one, after, config.hidden_size, 2))
        us_after += analysis::modeled_step_us(step, *link);
    }
    const double imbalance_before = mean > 0 ? max_of(rank_before) / mean : 1.0;
    const double imbalance_after = mean > 0 ? max_of(rank_after) / mean : 1.0;
    out["layers"].push_back({{"layer", first.layer_ids[l]},
                             {"rank_load_before", rank_before},
                             {"rank_load_after", rank_after},
                             {"max_over_mean_before", imbalance_before},
                             {"max_over_mean_after", imbalance_after},
                             {"all_to_all_us_before", us_before},
                             {"all_to_all_us_after", us_after}});
    if (!args.json)
      std::printf("%-6d %12.3f %12.3f %14.1f %14.1f\n", first.layer_ids[l], imbalance_before, imbalance_after,
                  us_before, us_after);
  }
  out["placement"] = sessions::placement_json(after, args.method);
  if (!args.out.empty()) {
    std::ofstream file(args.out);
    file << sessions::placement_json(after, args.method).dump(2) << "\n";
    if (!file) fail_input("--out " + args.out + ": cannot write the placement file");
    if (!args.json)
      std::printf("placement written to %s (run --ep-degree %d --placement %s)\n", args.out.c_str(),
                  args.ranks, args.out.c_str());
  }
  if (args.json) std::printf("%s\n", out.dump(2).c_str());
}

void add_placement(CLI::App& app) {
  auto args = std::make_shared<PlacementArgs>();
  auto* cmd = app.add_subcommand("placement", "Place experts on expert-parallel ranks from recorded routing");
  cmd->add_option("--db", args->db, "Session file")->required();
  cmd->add_option("--run", args->run_id, "One run's routing");
  cmd->add_option("--tag", args->tag, "Every complete run with this tag");
  cmd->add_option("--ranks", args->ranks, "Expert-parallel ranks")->required()->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--method", args->method, "contiguous, balanced or eplb")->capture_default_str();
  cmd->add_option("--replicas", args->replicas, "eplb: redundant expert copies")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 16));
  cmd->add_option("--interconnect", args->interconnect, "Modelled fabric: nvlink4, pcie5, ib400")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Write the placement as JSON (run --placement reads it)");
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([args] { run_placement(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(placement, add_placement);

}  // namespace moescope
