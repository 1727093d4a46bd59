// `moescope replay`: a recorded run's router logits replayed under another routing policy (top-k,
// Switch, noisy top-k, capacity, expert choice, BASE, aux-loss-free bias, group-limited, hash),
// measured per MoE layer against the routing the run had; `--apply` runs the model under it.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/verb_registry.h"
#include "core/analysis/load_metrics.h"
#include "core/error.h"
#include "core/model.h"
#include "core/model_config.h"
#include "core/routing_policies/replay.h"
#include "sessions/reader.h"
#include "sessions/replay_apply.h"

namespace moescope {
namespace {

struct ReplayArgs {
  std::string db;
  int64_t run_id = 0;
  std::string policy;
  std::string model_dir;  // default: the run's recorded model path
  routing_policies::PolicyOptions options;
  std::string priority = "position";
  std::string solver = "auction";
  bool json = false;
  bool apply = false;
};

nlohmann::json options_json(const ReplayArgs& a, int64_t k, int64_t width) {
  const auto& o = a.options;
  return {{"replay_of_run", a.run_id},
          {"policy", a.policy},
          {"k", k},
          {"width", width},
          {"noise_std", o.noise_std},
          {"seed", o.seed},
          {"capacity_factor", o.capacity_factor},
          {"priority", a.priority},
          {"solver", a.solver},
          {"bias_rate", o.bias_rate},
          {"groups", o.groups},
          {"topk_groups", o.topk_groups},
          {"kl_reference", "tokens.kl_to_dropless holds KL(recorded run || this run)"}};
}

void print_table(const std::vector<routing_policies::ReplayLayerMetrics>& layers,
                 const analysis::RoutingArrays& recorded, const std::string& policy) {
  std::printf("policy %s against the recorded routing (%d tokens)\n", policy.c_str(), recorded.n_tokens);
  std::printf("%-6s %9s %9s %7s %7s %7s %8s %7s %8s %8s %8s\n", "layer", "max_vio", "(actual)", "cv",
              "(actual)", "gini", "drop %", "top-1", "jaccard", "changed", "unrouted");
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& m = layers[l];
    const std::vector<double> actual = analysis::expert_load(recorded, static_cast<int32_t>(l));
    std::printf("%-6d %9.3f %9.3f %7.3f %7.3f %7.3f %8.2f %7.3f %8.3f %8lld %8lld\n", m.layer_id, m.max_vio,
                analysis::max_vio(actual), m.cv, analysis::coefficient_of_variation(actual), m.gini,
                100.0 * m.drop_rate, m.top1_agreement, m.jaccard, static_cast<long long>(m.tokens_changed),
                static_cast<long long>(m.tokens_unrouted));
  }
}

void run_replay(ReplayArgs args) {
  auto& o = args.options;
  o.kind = routing_policies::parse_policy(args.policy);
  if (args.priority == "position")
    o.priority = routing_policies::CapacityPriority::position;
  else if (args.priority == "score")
    o.priority = routing_policies::CapacityPriority::score;
  else
    fail_input("--priority '" + args.priority + "': expected position or score");
  if (args.solver == "auction")
    o.solver = routing_policies::BalancedSolver::auction;
  else if (args.solver == "sinkhorn")
    o.solver = routing_policies::BalancedSolver::sinkhorn;
  else
    fail_input("--solver '" + args.solver + "': expected auction or sinkhorn");

  sessions::SessionReader reader(args.db);
  const sessions::RunSummary run = reader.run(args.run_id);
  const ModelConfig config = recorded_config(reader, run);
  const std::string model_dir = args.model_dir.empty() ? run.model_path : args.model_dir;
  // The model's own rule needs DeepSeek-V3's correction bias, which lives in the checkpoint.
  std::map<int32_t, std::vector<float>> bias;
  if (config.topk_method == TopkMethod::noaux_tc || args.apply) {
    if (model_dir.empty() || !std::filesystem::exists(model_dir))
      fail_input("run " + std::to_string(run.id) + "'s model folder '" + model_dir +
                 "' is not here: give --model DIR (its correction bias and weights are read from it)");
    if (config.topk_method == TopkMethod::noaux_tc)
      bias = routing_policies::correction_biases(*load_model(model_dir));
  }
  const analysis::RoutingArrays recorded =
      reader.routing(args.run_id, {.scores = false, .router_logits = true});
  if (!recorded.has_router_logits())
    fail_input("run " + std::to_string(run.id) + " in " + args.db +
               " was recorded without router logits: record it again with --router-logits (run or record) to "
               "replay it");
  routing_policies::PolicyRunner runner(config, o, bias);
  if (args.apply) check_can_apply(runner);  // before anything is printed
  const auto replayed = routing_policies::replay_run(recorded, runner);
  std::vector<routing_policies::ReplayLayerMetrics> layers;
  for (int32_t l = 0; l < recorded.n_layers; ++l)
    layers.push_back(routing_policies::replay_metrics(recorded, l, replayed[l]));

  nlohmann::json out = routing_policies::replay_json(args.policy, layers);
  if (!args.json) print_table(layers, recorded, args.policy);
  if (args.apply) {
    const ApplyResult applied = apply_replay(args.db, args.run_id, model_dir, o,
                                             options_json(args, runner.k(), runner.width()).dump());
    double sum = 0, max = 0;
    for (double v : applied.kl) sum += v, max = std::max(max, v);
    const double mean = applied.kl.empty() ? 0.0 : sum / static_cast<double>(applied.kl.size());
    const double delta = applied.prompt_loglik_replayed - applied.prompt_loglik_recorded;
    out["applied"] = {{"run", applied.run_id},
                      {"tag", "replay:" + args.policy},
                      {"recorded", true},
                      {"kl_mean", mean},
                      {"kl_max", max},
                      {"kl", applied.kl},
                      {"prompt_loglik_recorded", applied.prompt_loglik_recorded},
                      {"prompt_loglik_replayed", applied.prompt_loglik_replayed},
                      {"prompt_loglik_change", delta}};
    if (!args.json)
      std::printf(
          "\napplied as run %lld (tag replay:%s): KL to the recorded output mean %.4g, max %.4g nats per "
          "token; prompt log-likelihood %.4f -> %.4f (change %+.4f nats)\n",
          static_cast<long long>(applied.run_id), args.policy.c_str(), mean, max,
          applied.prompt_loglik_recorded, applied.prompt_loglik_replayed, delta);
  }
  if (args.json) std::printf("%s\n", out.dump(2).c_str());
}

void add_replay(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand("replay",
                                 "Replay a run's router logits under another routing policy and measure it");
  cmd->add_option("--db", args->db, "Session file")->required();
  cmd->add_option("--run", args->run_id, "Run id (recorded with --router-logits)")->required();
  cmd->add_option("--policy", args->policy,
                  "topk, switch, noisy-topk, capacity, expert-choice, balanced-assignment, aux-free-bias, "
                  "group-limited or hash")
      ->required();
  cmd->add_option("--k", args->options.k,
                  "Experts per token (default: the model's top_k; 1 for switch, BASE, hash)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--noise-std", args->options.noise_std, "noisy-topk: standard deviation of the logit noise")
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "noisy-topk and hash: seed")->capture_default_str();
  cmd->add_option("--capacity", args->options.capacity_factor,
                  "capacity and expert-choice: capacity factor C")
      ->capture_default_str();
  cmd->add_option("--priority", args->priority, "capacity: who keeps a slot, position or score")
      ->capture_default_str();
  cmd->add_option("--solver", args->solver, "balanced-assignment: auction or sinkhorn")
      ->capture_default_str();
  cmd->add_option("--bias-rate", args->options.bias_rate, "aux-free-bias: bias update per step")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--groups", args->options.groups,
                  "group-limited: expert groups (default: the model's n_group)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--topk-groups", args->options.topk_groups,
                  "group-limited: groups kept per token (default: the model's)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--model", args->model_dir, "Checkpoint folder (default: the run's recorded model path)");
  cmd->add_flag("--apply", args->apply,
                "Run the model with the replayed routing forced (CPU) and record it as a new run "
                "(expert-choice: a token's empty slots are stored as no expert)");
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([args] { run_replay(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(replay, add_replay);

}  // namespace moescope
