// `replay --apply` (and the GUI's Routing lab): the model runs again over a recorded run's tokens, in the run's own steps, with a
// routing policy forced in every MoE layer (EngineOptions::routing_override), and is recorded as a
// new run tagged replay:<policy>, with each token's KL to the recorded output and the change in the
// prompt's log-likelihood.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/routing_policies/policy_runner.h"
#include "sessions/reader.h"

namespace moescope {

struct ApplyResult {
  int64_t run_id = 0;      // the new run
  std::vector<double> kl;  // (tokens) KL(recorded || replayed) of each next-token distribution, nats
  double prompt_loglik_recorded = 0.0;  // sum of log p(prompt token | earlier) under the model's routing
  double prompt_loglik_replayed = 0.0;  // the same under the forced routing
};

// The model config stored with `run` (its routing rule: top_k, scoring function, groups, bias).
ModelConfig recorded_config(sessions::SessionReader& reader, const sessions::RunSummary& run);

// InputError when the policy's routing cannot be recorded: a token-choice policy with more than 8
// experts per token (a session row has 8 expert columns).
void check_can_apply(const routing_policies::PolicyRunner& runner);

// Expert choice gives each token 0..n_experts experts: the run is recorded with empty slots
// (RunInfo::empty_slots, NULL in the row) and top_k = min(n_experts, 8). A token taken by more than
// 8 experts (possible only when n_experts > 8) is refused with InputError naming the layer, the
// position and the count, and nothing of the run is recorded.
// The model comes from `model_dir`. `recorded_settings_json` is the original run's (its capacity
// enforcement is reproduced for the reference pass). Throws InputError for runs it cannot redo.
ApplyResult apply_replay(const std::filesystem::path& db, int64_t run_id,
                         const std::filesystem::path& model_dir,
                         const routing_policies::PolicyOptions& policy,
                         const std::string& policy_settings_json);

}  // namespace moescope
