#include "core/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace moescope {

int32_t sample_token(std::span<const float> logits, const SamplingParams& params, std::mt19937_64& rng) {
  const auto argmax = [&] {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  };
  if (params.temperature <= 0.0) return argmax();
  // Softmax at temperature T, then the smallest set of tokens whose mass reaches top_p.
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  std::vector<double> probs(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    probs[i] = std::exp((static_cast<double>(logits[i]) - max_logit) / params.temperature);
    sum += probs[i];
  }
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  double kept = 0;
  size_t n_kept = 0;
  const double top_p = std::clamp(params.top_p, 0.0, 1.0);
  while (n_kept < order.size()) {
    kept += probs[order[n_kept]] / sum;
    ++n_kept;
    if (kept >= top_p) break;
  }
  std::uniform_real_distribution<double> uniform(0.0, kept);
  double r = uniform(rng), acc = 0;
  for (size_t i = 0; i < n_kept; ++i) {
    acc += probs[order[i]] / sum;
    if (r < acc) return order[i];
  }
  return order[n_kept - 1];
}

double token_logprob(std::span<const float> logits, int32_t token) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
  return static_cast<double>(logits[static_cast<size_t>(token)]) - max_logit - std::log(sum);
}

}  // namespace moescope
