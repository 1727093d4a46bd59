#include "ui/zone_search.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "ui/app_state.h"

namespace moescope::ui {
namespace {

std::string lower_case(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

}  // namespace

ZoneQuery parse_zone_query(const std::string& text) {
  ZoneQuery q;
  std::istringstream in(lower_case(text));
  std::vector<std::string> tokens;
  for (std::string w; in >> w;) tokens.push_back(w);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if ((tokens[i] == "layer" || tokens[i] == "step") && i + 1 < tokens.size() && all_digits(tokens[i + 1])) {
      if (tokens[i] == "layer") {
        q.layer = std::stoi(tokens[i + 1]);
      } else {
        q.step = std::stoll(tokens[i + 1]);
      }
      ++i;
    } else {
      q.words.push_back(tokens[i]);
    }
  }
  return q;
}

ZoneSearch search_zones(const std::vector<PlacedZone>& phases, const ZoneQuery& query, int bins) {
  // Which phases the words allow: a word must be part of the phase's name.
  bool phase_ok[kPhaseCount];
  for (int p = 0; p < kPhaseCount; ++p) {
    const std::string name(phase_name(static_cast<Phase>(p)));
    phase_ok[p] = std::all_of(query.words.begin(), query.words.end(),
                              [&](const std::string& w) { return name.find(w) != std::string::npos; });
  }
  ZoneSearch out;
  std::vector<double> durations;
  for (size_t i = 0; i < phases.size(); ++i) {
    const PlacedZone& z = phases[i];
    if (z.phase < 0 || z.phase >= kPhaseCount || !phase_ok[z.phase]) continue;
    if (query.layer >= 0 && z.layer != query.layer) continue;
    if (query.step >= 0 && z.step != query.step) continue;
    out.matches.push_back(i);
    durations.push_back(z.end_us - z.begin_us);
  }
  if (durations.empty()) return out;
  const auto longest = std::max_element(durations.begin(), durations.end());
  out.longest = out.matches[static_cast<size_t>(longest - durations.begin())];
  for (double d : durations) out.total_us += d;
  out.mean_us = out.total_us / static_cast<double>(durations.size());
  std::vector<double> sorted = durations;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(sorted.size() / 2), sorted.end());
  out.median_us = sorted[sorted.size() / 2];
  out.min_us = *std::min_element(durations.begin(), durations.end());
  out.max_us = *longest;
  // Log-spaced bins: zone durations span orders of magnitude (a prefill against a decode step).
  bins = std::max(1, bins);
  const double lo = std::max(out.min_us, 1e-3), hi = std::max(out.max_us, lo * (1 + 1e-9));
  out.histogram.assign(static_cast<size_t>(bins), 0);
  for (int b = 0; b <= bins; ++b)
    out.bin_edges_us.push_back(lo * std::pow(hi / lo, static_cast<double>(b) / bins));
  const double log_span = std::log(hi / lo);
  for (double d : durations) {
    const double f = log_span > 0 ? std::log(std::max(d, lo) / lo) / log_span : 0.0;
    out.histogram[static_cast<size_t>(std::clamp(static_cast<int>(f * bins), 0, bins - 1))] += 1;
  }
  return out;
}

}  // namespace moescope::ui
