// All-zero loads (a layer that saw no tokens) get the value of a perfectly balanced layer, so
// percentiles across layers are not poisoned by NaN; the reports show the token count beside them.
#include "core/analysis/load_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace moescope::analysis {
namespace {

double total(std::span<const double> load) { return std::accumulate(load.begin(), load.end(), 0.0); }

void require_bins(std::span<const double> load, const char* metric) {
  if (load.empty()) fail_input(std::string(metric) + ": the load vector is empty, expected one value per expert");
}

}  // namespace

std::vector<double> expert_load(const RoutingArrays& a, int32_t layer) {
  if (layer < 0 || layer >= a.n_layers) {
    fail_input("expert_load: layer index " + std::to_string(layer) + " is outside [0, " +
               std::to_string(a.n_layers) + ")");
  }
  std::vector<double> load(a.n_experts, 0.0);
  const size_t begin = a.topk_offset(layer, 0);
  const size_t end = a.topk_offset(layer + 1, 0);
  for (size_t i = begin; i < end; ++i) {
    if (a.topk_ids[i] != kNoExpert) load[a.topk_ids[i]] += 1.0;
  }
  return load;
}

double balancedness(std::span<const double> load) {
  require_bins(load, "balancedness");
  const double max = *std::max_element(load.begin(), load.end());
  if (max <= 0.0) return 1.0;
  return total(load) / static_cast<double>(load.size()) / max;
}

double max_over_mean(std::span<const double> load) {
  require_bins(load, "max/mean");
  const double mean = total(load) / static_cast<double>(load.size());
  if (mean <= 0.0) return 0.0;
  return *std::max_element(load.begin(), load.end()) / mean;
}

double max_vio(std::span<const double> load) {
  require_bins(load, "MaxVio");
  const double mean = total(load) / static_cast<double>(load.size());
  if (mean <= 0.0) return 0.0;
  return *std::max_element(load.begin(), load.end()) / mean - 1.0;
}

double coefficient_of_variation(std::span<const double> load) {
  require_bins(load, "coefficient of variation");
  const double n = static_cast<double>(load.size());
  const double mean = total(load) / n;
  if (mean <= 0.0) return 0.0;
  double sq = 0.0;
  for (double c : load) sq += (c - mean) * (c - mean);
  return std::sqrt(sq / n) / mean;
}

double gini(std::span<const double> load) {
  require_bins(load, "Gini");
  const double n = static_cast<double>(load.size());
  const double sum = total(load);
  if (sum <= 0.0) return 0.0;
  // Sorted form of sum_i sum_j |c_i - c_j|: 2 sum_i (2i - n + 1) c_(i), ascending, O(E log E).
  std::vector<double> sorted(load.begin(), load.end());
  std::sort(sorted.begin(), sorted.end());
  double weighted = 0.0;
  for (size_t i = 0; i < sorted.size(); ++i) weighted += (2.0 * static_cast<double>(i) - n + 1.0) * sorted[i];
  const double mean = sum / n;
  return 2.0 * weighted / (2.0 * n * n * mean);
}

double jain_fairness(std::span<const double> load) {
  require_bins(load, "Jain's fairness");
  double sum = 0.0, sq = 0.0;
  for (double c : load) {
    sum += c;
    sq += c * c;
  }
  if (sq <= 0.0) return 1.0;
  return sum * sum / (static_cast<double>(load.size()) * sq);
}

double normalised_load_entropy(std::span<const double> load) {
  require_bins(load, "load entropy");
  const double sum = total(load);
  if (sum <= 0.0 || load.size() == 1) return 1.0;
  double h = 0.0;
  for (double c : load) {
    if (c > 0.0) {
      const double p = c / sum;
      h -= p * std::log(p);
    }
  }
  return h / std::log(static_cast<double>(load.size()));
}

}  // namespace moescope::analysis
