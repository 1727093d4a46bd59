// Small hand-built RoutingArrays for the analysis tests: every number in them is chosen so the
// expected metric values can be worked out on paper (the worked values sit in each test).
#pragma once

#include <cstdint>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::test {

// One layer; `ids` (n_tokens, top_k) given row by row; weights 1/top_k; each token its own step
// unless `steps` is given.
inline analysis::RoutingArrays make_routing(int32_t n_experts, int32_t top_k, std::vector<int32_t> ids,
                                            std::vector<int64_t> steps = {}) {
  analysis::RoutingArrays a;
  a.n_layers = 1;
  a.n_experts = n_experts;
  a.top_k = top_k;
  a.n_tokens = static_cast<int32_t>(ids.size() / top_k);
  a.layer_ids = {0};
  a.topk_ids = std::move(ids);
  a.topk_weights.assign(a.topk_ids.size(), 1.0f / top_k);
  if (steps.empty()) {
    for (int32_t t = 0; t < a.n_tokens; ++t) steps.push_back(t);
  }
  a.step_of_token = std::move(steps);
  a.token_ids.assign(a.n_tokens, 0);
  return a;
}

// Perfectly balanced routing: token t picks experts (t*k + s) mod E, so with T a multiple of E
// every expert gets T*k/E assignments and every step is a single token.
inline analysis::RoutingArrays make_uniform_routing(int32_t n_experts, int32_t top_k, int32_t n_tokens,
                                                    int32_t n_layers = 1) {
  analysis::RoutingArrays a;
  a.n_layers = n_layers;
  a.n_experts = n_experts;
  a.top_k = top_k;
  a.n_tokens = n_tokens;
  for (int32_t l = 0; l < n_layers; ++l) a.layer_ids.push_back(l);
  for (int32_t l = 0; l < n_layers; ++l) {
    for (int32_t t = 0; t < n_tokens; ++t) {
      for (int32_t s = 0; s < top_k; ++s) a.topk_ids.push_back((t * top_k + s) % n_experts);
    }
  }
  a.topk_weights.assign(a.topk_ids.size(), 1.0f / top_k);
  a.scores.assign(static_cast<size_t>(n_layers) * n_tokens * n_experts, 1.0f / n_experts);
  a.router_logits.assign(a.scores.size(), 0.0f);
  for (int32_t t = 0; t < n_tokens; ++t) {
    a.step_of_token.push_back(0);
    a.token_ids.push_back(t);
  }
  return a;
}

}  // namespace moescope::test
