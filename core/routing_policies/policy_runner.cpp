#include "core/routing_policies/policy_runner.h"

#include <array>
#include <string>
#include <utility>

#include "core/cpu/ops.h"
#include "core/error.h"
#include "core/model.h"

namespace moescope::routing_policies {

namespace {

constexpr std::array<std::pair<PolicyKind, const char*>, 9> kNames = {{
    {PolicyKind::topk, "topk"},
    {PolicyKind::switch_top1, "switch"},
    {PolicyKind::noisy_topk, "noisy-topk"},
    {PolicyKind::capacity, "capacity"},
    {PolicyKind::expert_choice, "expert-choice"},
    {PolicyKind::balanced_assignment, "balanced-assignment"},
    {PolicyKind::aux_free_bias, "aux-free-bias"},
    {PolicyKind::group_limited, "group-limited"},
    {PolicyKind::hash, "hash"},
}};

}  // namespace

std::string policy_name(PolicyKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "unknown";
}

std::vector<std::string> policy_names() {
  std::vector<std::string> names;
  for (const auto& entry : kNames) names.push_back(entry.second);
  return names;
}

PolicyKind parse_policy(const std::string& name) {
  for (const auto& [kind, n] : kNames)
    if (name == n) return kind;
  std::string known;
  for (const auto& entry : kNames) known += (known.empty() ? "" : ", ") + std::string(entry.second);
  fail_input("unknown routing policy '" + name + "': expected one of " + known);
}

std::map<int32_t, std::vector<float>> correction_biases(const Model& model) {
  std::map<int32_t, std::vector<float>> bias;
  for (int32_t layer : model.config.moe_layers())
    if (model.weights.layers[layer].router_bias.present())
      bias[layer] = cpu::vector_f32(model.weights.layers[layer].router_bias);
  return bias;
}

PolicyRunner::PolicyRunner(const ModelConfig& config, const PolicyOptions& options,
                           std::map<int32_t, std::vector<float>> correction_bias)
    : config_(config), options_(options), correction_bias_(std::move(correction_bias)) {
  const int32_t E = static_cast<int32_t>(config.n_routed_experts);
  const bool one_expert = options.kind == PolicyKind::switch_top1 ||
                          options.kind == PolicyKind::balanced_assignment || options.kind == PolicyKind::hash;
  k_ = options.k > 0 ? options.k : one_expert ? 1 : static_cast<int32_t>(config.top_k);
  if (k_ < 1 || k_ > E)
    fail_input("--k " + std::to_string(k_) + " is outside [1, " + std::to_string(E) +
               "] (the model's routed experts)");
  if ((options.kind == PolicyKind::switch_top1 || options.kind == PolicyKind::balanced_assignment) && k_ != 1)
    fail_input(policy_name(options.kind) + " routes each token to one expert; --k " + std::to_string(k_) +
               " does not apply");
  width_ = options.kind == PolicyKind::expert_choice ? E : k_;
  if (options.kind == PolicyKind::group_limited) {
    if (options_.groups == 0) options_.groups = static_cast<int32_t>(config.n_group);
    if (options_.topk_groups == 0) options_.topk_groups = static_cast<int32_t>(config.topk_group);
    if (options_.groups < 2)
      fail_input("group-limited: the model has no expert groups (n_group " + std::to_string(config.n_group) +
                 "): give --groups G and --topk-groups M");
  }
}

std::span<const float> PolicyRunner::model_bias(int32_t layer_id) const {
  auto it = correction_bias_.find(layer_id);
  return it == correction_bias_.end() ? std::span<const float>{} : std::span<const float>(it->second);
}

void PolicyRunner::route(const StepLogits& in, const StepRouting& out) {
  const PolicyOptions& o = options_;
  switch (o.kind) {
    case PolicyKind::topk:
      return route_topk(config_, k_, model_bias(in.layer_id), in, out);
    case PolicyKind::switch_top1:
      return route_switch(in, out);
    case PolicyKind::noisy_topk:
      return route_noisy_topk(k_, o.noise_std, o.seed, in, out);
    case PolicyKind::capacity:
      return route_capacity(config_, k_, model_bias(in.layer_id), o.capacity_factor, o.priority, in, out);
    case PolicyKind::expert_choice:
      return route_expert_choice(k_, o.capacity_factor, in, out);
    case PolicyKind::balanced_assignment:
      return route_balanced_assignment(o.solver, in, out);
    case PolicyKind::aux_free_bias: {
      // The bias starts from the model's own (zero for models without one).
      auto [it, inserted] = running_bias_.try_emplace(in.layer_id);
      if (inserted) {
        const auto start = model_bias(in.layer_id);
        it->second.assign(start.begin(), start.end());
        it->second.resize(static_cast<size_t>(in.n_experts), 0.0f);
      }
      return route_aux_free_bias(config_, k_, o.bias_rate, it->second, in, out);
    }
    case PolicyKind::group_limited:
      return route_group_limited(config_, k_, o.groups, o.topk_groups, model_bias(in.layer_id), in, out);
    case PolicyKind::hash:
      return route_hash(k_, o.seed, in, out);
  }
}

}  // namespace moescope::routing_policies
