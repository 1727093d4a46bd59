// `moescope offload`: the expert-offload what-if of a recorded run. Replays each MoE layer's expert
// lookups through a cache of C slots (core/expert_cache.h) and prints the hit rate per layer, the
// bytes a token would copy from host memory and their modelled time on a host link; `--sweep` gives
// the hit rate at every cache size for each policy instead. Definitions in docs/offload.md.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/verb_registry.h"
#include "core/analysis/offload_cost.h"
#include "core/analysis/offload_whatif.h"
#include "core/error.h"
#include "sessions/default_path.h"
#include "sessions/run_offload.h"

namespace moescope {
namespace {

struct OffloadArgs {
  std::string db;
  int64_t run_id = 0;
  bool cache_given = false;
  int64_t cache = 0;
  std::string policy;  // empty: lru, or every policy with --sweep
  std::string link = "pcie4";
  bool sweep = false;
  bool json = false;
};

std::string percent(double rate) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * rate);
  return text;
}

void print_json(const nlohmann::json& out) {
  std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_simulation(const sessions::RunOffloadInput& input, const analysis::CacheSimulation& sim,
                      const analysis::ExpertStorage& expert, const analysis::HostLink& link, bool json) {
  const analysis::ExpertLookupTrace& trace = input.trace;
  const double expert_bytes = static_cast<double>(expert.bytes());
  const double bytes_per_token =
      static_cast<double>(sim.misses()) * expert_bytes / static_cast<double>(trace.n_tokens);
  const double ms_per_token = 1e3 * bytes_per_token / link.bytes_per_s;
  // Decode alone (the steps after the prefill), what a generating user waits for per token.
  const bool has_decode = trace.n_decode_tokens > 0;
  const double decode_bytes_per_token = has_decode ? static_cast<double>(sim.decode_misses) * expert_bytes /
                                                         static_cast<double>(trace.n_decode_tokens)
                                                   : 0.0;
  const double decode_ms_per_token = 1e3 * decode_bytes_per_token / link.bytes_per_s;

  if (json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& layer : sim.layers) {
      layers.push_back({{"layer", layer.layer}, {"lookups", layer.lookups}, {"hits", layer.hits}});
    }
    nlohmann::json out = {{"run", input.run.id},
                          {"policy", cache_policy_name(sim.policy)},
                          {"cache", sim.capacity},
                          {"n_experts", trace.n_experts},
                          {"hit_rate", sim.hit_rate()},
                          {"lookups", sim.lookups},
                          {"hits", sim.hits},
                          {"layers", std::move(layers)},
                          {"expert_dtype", expert.dtype},
                          {"expert_bytes", expert.bytes()},
                          {"tokens", trace.n_tokens},
                          {"bytes_per_token", bytes_per_token},
                          {"link", link.name},
                          {"link_bytes_per_s", link.bytes_per_s},
                          {"modelled_ms_per_token", ms_per_token},
                          {"decode_tokens", trace.n_decode_tokens}};
    if (has_decode) {
      out["decode_bytes_per_token"] = decode_bytes_per_token;
      out["decode_modelled_ms_per_token"] = decode_ms_per_token;
    } else {
      out["decode_bytes_per_token"] = nullptr;
      out["decode_modelled_ms_per_token"] = nullptr;
    }
    print_json(out);
    return;
  }
  std::printf(
      "run %lld (%s, %d MoE layers, %d experts per layer, %lld tokens): %s cache of %d slots per layer\n",
      static_cast<long long>(input.run.id), input.run.model_type.c_str(),
      static_cast<int>(trace.layer_ids.size()), trace.n_experts, static_cast<long long>(trace.n_tokens),
      std::string(cache_policy_name(sim.policy)).c_str(), sim.capacity);
  std::printf("%6s %9s %9s %9s\n", "layer", "lookups", "hits", "hit rate");
  for (const auto& layer : sim.layers) {
    const double rate =
        layer.lookups ? static_cast<double>(layer.hits) / static_cast<double>(layer.lookups) : 0.0;
    std::printf("%6d %9lld %9lld %9s\n", layer.layer, static_cast<long long>(layer.lookups),
                static_cast<long long>(layer.hits), percent(rate).c_str());
  }
  std::printf("%6s %9lld %9lld %9s\n\n", "all", static_cast<long long>(sim.lookups),
              static_cast<long long>(sim.hits), percent(sim.hit_rate()).c_str());
  std::printf("expert: %s, 3 x %lld x %lld, %lld bytes%s\n", expert.dtype.c_str(),
              static_cast<long long>(expert.hidden), static_cast<long long>(expert.intermediate),
              static_cast<long long>(expert.bytes()), expert.scale_bytes ? " with block scales" : "");
  std::printf("link: %s, %.1f GB/s (%s)\n", std::string(link.name).c_str(), link.bytes_per_s / 1e9,
              std::string(link.source).c_str());
  std::printf("all %lld tokens: %.0f bytes per token, modelled copy time %.4f ms per token\n",
              static_cast<long long>(trace.n_tokens), bytes_per_token, ms_per_token);
  if (has_decode) {
    std::printf(
        "decode (%lld tokens after the prefill): %.0f bytes per token, modelled copy time %.4f ms per "
        "token\n",
        static_cast<long long>(trace.n_decode_tokens), decode_bytes_per_token, decode_ms_per_token);
  }
}

void print_sweep(const sessions::RunOffloadInput& input, const std::vector<analysis::HitRateCurve>& curves,
                 bool json) {
  if (json) {
    nlohmann::json out_curves = nlohmann::json::array();
    for (const auto& curve : curves) {
      out_curves.push_back({{"policy", cache_policy_name(curve.policy)},
                            {"cache", curve.capacities},
                            {"hit_rate", curve.hit_rates}});
    }
    print_json(
        {{"run", input.run.id}, {"n_experts", input.trace.n_experts}, {"curves", std::move(out_curves)}});
    return;
  }
  std::printf("run %lld: hit rate against cache slots per layer (%d experts per layer)\n",
              static_cast<long long>(input.run.id), input.trace.n_experts);
  std::printf("%6s", "cache");
  for (const auto& curve : curves) std::printf(" %9s", std::string(cache_policy_name(curve.policy)).c_str());
  std::printf("\n");
  for (size_t i = 0; i < curves.front().capacities.size(); ++i) {
    std::printf("%6d", curves.front().capacities[i]);
    for (const auto& curve : curves) std::printf(" %9s", percent(curve.hit_rates[i]).c_str());
    std::printf("\n");
  }
}

void run_offload(const OffloadArgs& args) {
  std::optional<CachePolicy> policy;
  if (!args.policy.empty()) {
    policy = parse_cache_policy(args.policy);
    if (!policy) fail_input("--policy " + args.policy + ": expected lru, lfu or belady");
  }
  const analysis::HostLink* link = analysis::find_host_link(args.link);
  if (!link) fail_input("--link " + args.link + ": expected one of " + analysis::host_link_names());
  if (!args.sweep && !args.cache_given) {
    fail_input("offload needs --cache C (expert slots per MoE layer), or --sweep for every size");
  }

  const std::filesystem::path db =
      args.db.empty() ? sessions::default_session_path() : std::filesystem::path(args.db);
  sessions::SessionReader reader(db);
  const sessions::RunOffloadInput input = sessions::load_run_offload_input(reader, args.run_id);
  const int32_t n_experts = input.trace.n_experts;

  if (args.sweep) {
    std::vector<CachePolicy> policies(std::begin(kAllCachePolicies), std::end(kAllCachePolicies));
    if (policy) policies = {*policy};
    const std::vector<int32_t> sizes = analysis::all_cache_sizes(input.trace);
    print_sweep(input, analysis::hit_rate_curves(input.trace, policies, sizes), args.json);
    return;
  }
  if (args.cache < 1 || args.cache > n_experts) {
    fail_input("--cache " + std::to_string(args.cache) + ": expected 1.." + std::to_string(n_experts) +
               " expert slots per MoE layer (run " + std::to_string(args.run_id) + " has " +
               std::to_string(n_experts) + " routed experts per layer)");
  }
  const analysis::ExpertStorage expert = sessions::run_expert_storage(reader, args.run_id);
  const analysis::CacheSimulation sim = analysis::simulate_expert_cache(
      input.trace, policy.value_or(CachePolicy::lru), static_cast<int32_t>(args.cache));
  print_simulation(input, sim, expert, *link, args.json);
}

void add_offload(CLI::App& app) {
  auto args = std::make_shared<OffloadArgs>();
  auto* cmd = app.add_subcommand(
      "offload", "What-if: replay a recorded run's expert lookups through a per-layer expert cache");
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  cmd->add_option("--run", args->run_id, "The run to replay")->required();
  auto* cache = cmd->add_option("--cache", args->cache, "Expert slots per MoE layer, 1..n_experts");
  cmd->add_option("--policy", args->policy, "lru (default), lfu or belady (the recorded-trace optimum)");
  cmd->add_option("--link", args->link,
                  "Host-to-GPU link for the modelled copy time: pcie4 (default), pcie5, nvlink-c2c");
  cmd->add_flag("--sweep", args->sweep, "Hit rate at every cache size, for each policy (or the one given)")
      ->excludes(cache);
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([args, cache] {
    args->cache_given = cache->count() > 0;
    run_offload(*args);
  });
}

}  // namespace

MOESCOPE_REGISTER_VERB(offload, add_offload);

}  // namespace moescope
