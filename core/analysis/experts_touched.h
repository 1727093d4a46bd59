// Experts touched per forward step: the distinct experts that received >= 1 token, which decides
// how many expert weight matrices a step has to read (decode is memory-bound on exactly this).
#pragma once

#include <cstdint>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

// E * (1 - (1 - k/E)^T): the expectation when each of T tokens picks k distinct experts uniformly.
double expected_experts_touched(int32_t n_experts, int32_t top_k, int64_t n_tokens);

struct ExpertsTouched {
  std::vector<int64_t> step;              // (n_steps) forward-step ids, in order
  std::vector<int32_t> step_tokens;       // (n_steps) tokens in the step
  std::vector<int32_t> touched;           // (n_steps) distinct experts with >= 1 assignment
  std::vector<double> expected_uniform;   // (n_steps) expected_experts_touched for the step's tokens
  double mean_touched = 0.0;              // over steps
  double mean_expected_uniform = 0.0;     // over steps
};

ExpertsTouched experts_touched(const RoutingArrays& arrays, int32_t layer);

}  // namespace moescope::analysis
