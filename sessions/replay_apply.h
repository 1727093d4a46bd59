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
  int64_t run_id = 0;      // the new run; 0 when the routing cannot be recorded (measured only)
  std::vector<double> kl;  // (tokens) KL(recorded || replayed) of each next-token distribution, nats
  double prompt_loglik_recorded = 0.0;  // sum of log p(prompt token | earlier) under the model's routing
  double prompt_loglik_replayed = 0.0;  // the same under the forced routing
};

// The model config stored with `run` (its routing rule: top_k, scoring function, groups, bias).
ModelConfig recorded_config(sessions::SessionReader& reader, const sessions::RunSummary& run);

// InputError when the policy's routing cannot be forced (more than 8 experts per token).
void check_can_apply(const routing_policies::PolicyRunner& runner);

// Whether the forced run can be recorded as a session run. Expert choice gives each token a varying
// number of experts (an empty slot where no expert took it), which a session's routing rows (a
// fixed top-k, no empty slots) cannot hold: the CPU engine runs it, and apply_replay measures the
// KL and log-likelihood change without recording a run.
bool can_record_applied(const routing_policies::PolicyRunner& runner);

// The model comes from `model_dir`. `recorded_settings_json` is the original run's (its capacity
// enforcement is reproduced for the reference pass). Throws InputError for runs it cannot redo.
ApplyResult apply_replay(const std::filesystem::path& db, int64_t run_id,
                         const std::filesystem::path& model_dir,
                         const routing_policies::PolicyOptions& policy,
                         const std::string& policy_settings_json);

}  // namespace moescope
