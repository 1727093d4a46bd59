// The metric catalogue as data: one entry per metric with its formula, uniform-routing baseline,
// source and computing function. The CLI report, the JSON export and the GUI's hover text all read
// this table, so a metric is described in exactly one place (docs/metrics.md mirrors it).
#pragma once

#include <span>
#include <string_view>

namespace moescope::analysis {

struct MetricInfo {
  std::string_view key;       // JSON key in LayerMetrics' serialisation ("" for non-per-layer metrics)
  std::string_view name;      // human name
  std::string_view formula;   // plain-text formula (E experts, k chosen, T tokens, c_e = assignments to e)
  std::string_view baseline;  // value under uniform routing
  std::string_view source;    // paper or engine whose definition we follow
  std::string_view function;  // the core/analysis function computing it
};

std::span<const MetricInfo> metric_catalogue();
// The entry with this key, or nullptr.
const MetricInfo* find_metric(std::string_view key);

}  // namespace moescope::analysis
