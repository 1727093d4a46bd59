#include "core/analysis/co_activation.h"

#include <string>

#include "core/error.h"

namespace moescope::analysis {

CoActivation co_activation(const RoutingArrays& a, int32_t layer) {
  if (layer < 0 || layer >= a.n_layers) {
    fail_input("co_activation: layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(a.n_layers) + ")");
  }
  const size_t E = static_cast<size_t>(a.n_experts);
  CoActivation out;
  out.n_experts = a.n_experts;
  out.pair_count.assign(E * E, 0);
  out.conditional.assign(E * E, 0.0);
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    const int32_t* ids = a.topk_ids.data() + a.topk_offset(layer, t);
    for (int32_t i = 0; i < a.top_k; ++i) {
      if (ids[i] == kNoExpert) continue;
      for (int32_t j = 0; j < a.top_k; ++j) {
        if (ids[j] != kNoExpert) ++out.pair_count[ids[i] * E + ids[j]];
      }
    }
  }
  for (size_t i = 0; i < E; ++i) {
    const int64_t count_i = out.pair_count[i * E + i];
    if (count_i == 0) continue;
    for (size_t j = 0; j < E; ++j) out.conditional[i * E + j] = static_cast<double>(out.pair_count[i * E + j]) / count_i;
  }
  return out;
}

double co_activation_uniform_baseline(int32_t n_experts, int32_t top_k) {
  if (n_experts < 2 || top_k < 1 || top_k > n_experts) {
    fail_input("co-activation baseline: need 1 <= top_k <= n_experts and n_experts >= 2 (got E=" +
               std::to_string(n_experts) + ", k=" + std::to_string(top_k) + ")");
  }
  return static_cast<double>(top_k - 1) / (n_experts - 1);
}

}  // namespace moescope::analysis
