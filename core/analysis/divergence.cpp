#include "core/analysis/divergence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include "core/error.h"

namespace moescope::analysis {
namespace {

double mean_layer_jsd(const std::vector<double>& a, const std::vector<double>& b, int32_t n_layers, int32_t n_experts) {
  const std::vector<double> per_layer = js_divergence_per_layer(a, b, n_layers, n_experts);
  double sum = 0.0;
  int32_t n = 0;
  for (double v : per_layer) {
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  }
  return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> pooled(std::span<const std::vector<double>> prompts, std::span<const size_t> members, size_t size) {
  std::vector<double> out(size, 0.0);
  for (size_t m : members) {
    for (size_t i = 0; i < size; ++i) out[i] += prompts[m][i];
  }
  return out;
}

}  // namespace

double js_divergence(std::span<const double> p, std::span<const double> q) {
  if (p.size() != q.size() || p.empty()) {
    fail_input("JS divergence: loads have " + std::to_string(p.size()) + " and " + std::to_string(q.size()) +
               " experts, expected the same non-zero count");
  }
  const double sp = std::accumulate(p.begin(), p.end(), 0.0);
  const double sq = std::accumulate(q.begin(), q.end(), 0.0);
  if (sp <= 0.0 || sq <= 0.0) return std::numeric_limits<double>::quiet_NaN();
  double jsd = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / sp, qi = q[i] / sq, mi = 0.5 * (pi + qi);
    if (pi > 0.0) jsd += 0.5 * pi * std::log2(pi / mi);
    if (qi > 0.0) jsd += 0.5 * qi * std::log2(qi / mi);
  }
  return std::max(0.0, jsd);
}

double next_token_kl(std::span<const float> logits_p, std::span<const float> logits_q) {
  if (logits_p.size() != logits_q.size() || logits_p.empty()) {
    fail_input("next-token KL: logit rows have " + std::to_string(logits_p.size()) + " and " +
               std::to_string(logits_q.size()) + " entries, expected the same vocabulary");
  }
  auto log_softmax_norm = [](std::span<const float> x) {
    const double max = *std::max_element(x.begin(), x.end());
    double sum = 0.0;
    for (float v : x) sum += std::exp(v - max);
    return max + std::log(sum);
  };
  const double lse_p = log_softmax_norm(logits_p), lse_q = log_softmax_norm(logits_q);
  double kl = 0.0;
  for (size_t i = 0; i < logits_p.size(); ++i) {
    const double log_p = logits_p[i] - lse_p, log_q = logits_q[i] - lse_q;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return std::max(0.0, kl);
}

std::vector<double> run_loads(const RoutingArrays& a) {
  std::vector<double> out(static_cast<size_t>(a.n_layers) * a.n_experts, 0.0);
  for (int32_t l = 0; l < a.n_layers; ++l) {
    for (size_t i = a.topk_offset(l, 0); i < a.topk_offset(l + 1, 0); ++i) {
      if (a.topk_ids[i] != kNoExpert) out[static_cast<size_t>(l) * a.n_experts + a.topk_ids[i]] += 1.0;
    }
  }
  return out;
}

std::vector<double> js_divergence_per_layer(std::span<const double> a, std::span<const double> b, int32_t n_layers,
                                            int32_t n_experts) {
  const size_t size = static_cast<size_t>(n_layers) * n_experts;
  if (n_layers < 0 || n_experts < 1 || a.size() != size || b.size() != size) {
    fail_input("JS divergence per layer: loads have " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
               " values, expected " + std::to_string(n_layers) + " layers x " + std::to_string(n_experts) + " experts");
  }
  std::vector<double> out(n_layers);
  for (int32_t l = 0; l < n_layers; ++l) {
    out[l] = js_divergence(a.subspan(static_cast<size_t>(l) * n_experts, n_experts),
                           b.subspan(static_cast<size_t>(l) * n_experts, n_experts));
  }
  return out;
}

PermutationTest jsd_permutation_test(std::span<const std::vector<double>> group_a,
                                     std::span<const std::vector<double>> group_b, int32_t n_layers, int32_t n_experts,
                                     int32_t n_permutations, uint64_t seed) {
  if (group_a.empty() || group_b.empty()) {
    fail_input("JSD permutation test: each group needs at least one prompt (got " + std::to_string(group_a.size()) +
               " and " + std::to_string(group_b.size()) + ")");
  }
  if (n_permutations < 1) fail_input("JSD permutation test: n_permutations must be >= 1, got " + std::to_string(n_permutations));
  const size_t size = static_cast<size_t>(n_layers) * n_experts;
  std::vector<std::vector<double>> prompts;
  for (const auto& p : group_a) prompts.push_back(p);
  for (const auto& p : group_b) prompts.push_back(p);
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].size() != size) {
      fail_input("JSD permutation test: prompt " + std::to_string(i) + " has " + std::to_string(prompts[i].size()) +
                 " load values, expected " + std::to_string(n_layers) + " x " + std::to_string(n_experts));
    }
  }
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t n_a = group_a.size();
  auto statistic = [&](std::vector<double>* per_layer) {
    const auto a = pooled(prompts, std::span(order).first(n_a), size);
    const auto b = pooled(prompts, std::span(order).subspan(n_a), size);
    if (per_layer) *per_layer = js_divergence_per_layer(a, b, n_layers, n_experts);
    return mean_layer_jsd(a, b, n_layers, n_experts);
  };

  PermutationTest out;
  out.observed = statistic(&out.observed_per_layer);
  out.n_permutations = n_permutations;
  std::mt19937_64 rng(seed);
  // A split equal to the observed one must count as "at least as large" despite rounding.
  const double threshold = out.observed - 1e-12;
  out.null_statistics.reserve(static_cast<size_t>(n_permutations));
  for (int32_t p = 0; p < n_permutations; ++p) {
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
    const double s = statistic(nullptr);
    out.null_statistics.push_back(s);
    if (!std::isnan(s) && s >= threshold) ++out.n_at_least_observed;
  }
  out.p_value = (1.0 + out.n_at_least_observed) / (1.0 + n_permutations);
  return out;
}

}  // namespace moescope::analysis
