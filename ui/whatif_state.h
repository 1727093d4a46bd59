// State of the three what-if views (issues #17 and #19): the Routing lab (a run's recorded router
// logits replayed under a routing policy, and applied), the offload hit-rate curve and expert
// placement. Their heavy work runs as BackgroundJobs; these are the inputs and the results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/analysis/offload_profile.h"
#include "core/analysis/offload_whatif.h"
#include "core/routing_policies/policy_runner.h"
#include "core/routing_policies/replay.h"
#include "ui/background_job.h"

namespace moescope::ui {

// One policy over one run, beside the routing the run had.
struct LabReplay {
  std::string policy;
  int32_t n_tokens = 0;
  int32_t n_experts = 0;
  int32_t k = 0, width = 0;  // the policy's experts per token and routing width
  std::vector<routing_policies::ReplayLayerMetrics> layers;    // (n_layers)
  std::vector<double> actual_max_vio, actual_cv, actual_gini;  // (n_layers) of the recorded routing
  std::string model_path;                                      // the run's checkpoint, which applying runs
  std::string cannot_apply;                                    // why Apply is off ("" when it can run)
};

// A policy applied: the model run again under it and recorded as a new run.
struct LabApplied {
  int64_t source_run = 0;
  int64_t run_id = 0;
  std::string tag;
  double kl_mean = 0, kl_max = 0;  // nats per token, to the recorded output
  double prompt_loglik_change = 0;
};

struct RoutingLabState {
  routing_policies::PolicyOptions options;
  int priority = 0;  // 0 position, 1 score (capacity)
  BackgroundJob<LabReplay> replay;
  BackgroundJob<LabApplied> apply;
  uint64_t apply_shown = 0;  // key of the applied run already selected
};

struct OffloadCurves {
  int32_t n_experts = 0;
  int32_t n_layers = 0;
  int64_t lookups = 0;                         // over all layers
  std::vector<analysis::HitRateCurve> curves;  // one per policy, lru, lfu, belady
};

struct OffloadState {
  BackgroundJob<OffloadCurves> job;
  // A run with offloaded experts: what its cache did, computed once per run (key: run_data_key).
  uint64_t recorded_key = 0;
  analysis::OffloadProfile recorded;  // per-layer and run totals
  analysis::OffloadHitGrid grid;      // hit rate per (layer, span of steps)
};

struct PlacementState {
  int method = 2;  // 0 contiguous, 1 balanced, 2 eplb
  int32_t ranks = 8;
  int32_t replicas = 0;               // EPLB's redundant copies; 0: one per rank
  uint64_t key = 0;                   // what the arrays were computed for
  std::vector<double> before, after;  // (n_layers, ranks) assignments per rank: contiguous, then `method`
  std::vector<double> max_before, max_after, mean;  // (n_layers)
  int32_t n_ranks = 0;
};

}  // namespace moescope::ui
