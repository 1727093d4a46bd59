#include "core/analysis/experts_touched.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace moescope::analysis {

double expected_experts_touched(int32_t n_experts, int32_t top_k, int64_t n_tokens) {
  if (n_experts < 1 || top_k < 1 || top_k > n_experts || n_tokens < 0) {
    fail_input("expected experts touched: need 1 <= top_k <= n_experts and n_tokens >= 0 (got E=" +
               std::to_string(n_experts) + ", k=" + std::to_string(top_k) + ", T=" + std::to_string(n_tokens) + ")");
  }
  const double miss = 1.0 - static_cast<double>(top_k) / n_experts;
  return n_experts * (1.0 - std::pow(miss, static_cast<double>(n_tokens)));
}

ExpertsTouched experts_touched(const RoutingArrays& a, int32_t layer) {
  if (layer < 0 || layer >= a.n_layers) {
    fail_input("experts_touched: layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(a.n_layers) + ")");
  }
  ExpertsTouched out;
  std::vector<uint8_t> hit(a.n_experts);
  int32_t begin = 0;
  while (begin < a.n_tokens) {
    int32_t end = begin;
    while (end < a.n_tokens && a.step_of_token[end] == a.step_of_token[begin]) ++end;
    std::fill(hit.begin(), hit.end(), 0);
    int32_t touched = 0;
    for (size_t i = a.topk_offset(layer, begin); i < a.topk_offset(layer, end); ++i) {
      if (a.topk_ids[i] != kNoExpert && !hit[a.topk_ids[i]]) {
        hit[a.topk_ids[i]] = 1;
        ++touched;
      }
    }
    out.step.push_back(a.step_of_token[begin]);
    out.step_tokens.push_back(end - begin);
    out.touched.push_back(touched);
    out.expected_uniform.push_back(expected_experts_touched(a.n_experts, a.top_k, end - begin));
    out.mean_touched += touched;
    out.mean_expected_uniform += out.expected_uniform.back();
    begin = end;
  }
  if (!out.step.empty()) {
    out.mean_touched /= static_cast<double>(out.step.size());
    out.mean_expected_uniform /= static_cast<double>(out.step.size());
  }
  return out;
}

}  // namespace moescope::analysis
