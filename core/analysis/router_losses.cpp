// Accumulations run in double: the losses are compared against values printed by training logs to
// several digits, and float sums over 10^5 rows would drift in the last ones.
#include "core/analysis/router_losses.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/analysis/routing_arrays.h"
#include "core/error.h"

namespace moescope::analysis {
namespace {

void require_shape(const char* what, size_t actual, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 1 || static_cast<int64_t>(actual) != rows * cols) {
    fail_input(std::string(what) + ": buffer has " + std::to_string(actual) + " values, expected " +
               std::to_string(rows) + " x " + std::to_string(cols));
  }
}

double logsumexp(const float* row, int32_t n) {
  const float max = *std::max_element(row, row + n);
  if (std::isinf(max)) return max;
  double sum = 0.0;
  for (int32_t e = 0; e < n; ++e) sum += std::exp(static_cast<double>(row[e]) - max);
  return max + std::log(sum);
}

// E * sum_e f_e P_e where f_e counts rows choosing e within their first `slots` choices.
double balance_loss(std::span<const float> probs, std::span<const int32_t> ids, int64_t n_rows,
                    int32_t n_experts, int32_t top_k, int32_t slots, const char* what) {
  require_shape(what, probs.size(), n_rows, n_experts);
  require_shape(what, ids.size(), n_rows, top_k);
  if (n_rows == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> f(n_experts, 0.0), p(n_experts, 0.0);
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int32_t s = 0; s < slots; ++s) {
      const int32_t e = ids[r * top_k + s];
      if (e == kNoExpert) continue;  // an empty slot (expert choice)
      if (e < 0 || e >= n_experts) fail_input(std::string(what) + ": expert id " + std::to_string(e) + " out of range");
      f[e] += 1.0;
    }
    for (int32_t e = 0; e < n_experts; ++e) p[e] += probs[r * n_experts + e];
  }
  double sum = 0.0;
  for (int32_t e = 0; e < n_experts; ++e) sum += (f[e] / n_rows) * (p[e] / n_rows);
  return n_experts * sum;
}

}  // namespace

std::vector<float> softmax_rows(std::span<const float> logits, int64_t n_rows, int32_t n_experts) {
  require_shape("softmax", logits.size(), n_rows, n_experts);
  std::vector<float> out(logits.size());
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = logits.data() + r * n_experts;
    const double lse = logsumexp(row, n_experts);
    for (int32_t e = 0; e < n_experts; ++e) out[r * n_experts + e] = static_cast<float>(std::exp(row[e] - lse));
  }
  return out;
}

double switch_aux_loss(std::span<const float> probs, std::span<const int32_t> topk_ids, int64_t n_rows,
                       int32_t n_experts, int32_t top_k) {
  return balance_loss(probs, topk_ids, n_rows, n_experts, top_k, 1, "Switch auxiliary loss");
}

double transformers_aux_loss(std::span<const float> probs, std::span<const int32_t> topk_ids, int64_t n_rows,
                             int32_t n_experts, int32_t top_k) {
  return balance_loss(probs, topk_ids, n_rows, n_experts, top_k, top_k, "load_balancing_loss_func");
}

double router_z_loss(std::span<const float> logits, int64_t n_rows, int32_t n_experts) {
  require_shape("router z-loss", logits.size(), n_rows, n_experts);
  if (n_rows == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  for (int64_t r = 0; r < n_rows; ++r) {
    const double lse = logsumexp(logits.data() + r * n_experts, n_experts);
    sum += lse * lse;
  }
  return sum / n_rows;
}

double mean_token_entropy(std::span<const float> scores, int64_t n_rows, int32_t n_experts) {
  require_shape("routing entropy", scores.size(), n_rows, n_experts);
  if (n_rows == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = scores.data() + r * n_experts;
    double row_sum = 0.0;
    for (int32_t e = 0; e < n_experts; ++e) {
      if (row[e] < 0.0f) fail_input("routing entropy: negative score " + std::to_string(row[e]) + " in row " + std::to_string(r));
      row_sum += row[e];
    }
    if (row_sum <= 0.0) continue;  // an all-zero row carries no distribution: entropy 0
    double h = 0.0;
    for (int32_t e = 0; e < n_experts; ++e) {
      if (row[e] > 0.0f) {
        const double p = row[e] / row_sum;
        h -= p * std::log(p);
      }
    }
    sum += h;
  }
  return sum / n_rows;
}

}  // namespace moescope::analysis
