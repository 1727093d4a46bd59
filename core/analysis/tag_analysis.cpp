#include "core/analysis/tag_analysis.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/analysis/divergence.h"
#include "core/analysis/stats.h"
#include "core/error.h"

namespace moescope::analysis {
namespace {

void require_layer(const TagLoads& l, int32_t layer, const char* what) {
  if (layer < 0 || layer >= l.n_layers) {
    fail_input(std::string(what) + ": layer index " + std::to_string(layer) + " is outside [0, " +
               std::to_string(l.n_layers) + ")");
  }
}

const double* tag_layer(const TagLoads& l, size_t tag, int32_t layer) {
  return l.load.data() + (tag * l.n_layers + layer) * l.n_experts;
}

}  // namespace

TagLoads tag_loads(std::span<const TaggedRouting> runs) {
  TagLoads out;
  for (const TaggedRouting& run : runs) {
    if (run.arrays == nullptr) fail_input("tag loads: run tagged '" + run.tag + "' has no routing arrays");
    const RoutingArrays& a = *run.arrays;
    validate(a);
    if (out.tags.empty()) {
      out.n_layers = a.n_layers;
      out.n_experts = a.n_experts;
      out.top_k = a.top_k;
    } else if (a.n_layers != out.n_layers || a.n_experts != out.n_experts || a.top_k != out.top_k) {
      fail_input("tag loads: run tagged '" + run.tag + "' has " + std::to_string(a.n_layers) + " layers, " +
                 std::to_string(a.n_experts) + " experts, top-" + std::to_string(a.top_k) + ", expected " +
                 std::to_string(out.n_layers) + ", " + std::to_string(out.n_experts) + ", top-" + std::to_string(out.top_k));
    }
    size_t tag = std::find(out.tags.begin(), out.tags.end(), run.tag) - out.tags.begin();
    const size_t block = static_cast<size_t>(out.n_layers) * out.n_experts;
    if (tag == out.tags.size()) {
      out.tags.push_back(run.tag);
      out.tokens.push_back(0);
      out.load.resize(out.load.size() + block, 0.0);
    }
    out.tokens[tag] += a.n_tokens;
    for (int32_t l = 0; l < a.n_layers; ++l) {
      double* dst = out.load.data() + tag * block + static_cast<size_t>(l) * a.n_experts;
      for (size_t i = a.topk_offset(l, 0); i < a.topk_offset(l + 1, 0); ++i) if (a.topk_ids[i] != kNoExpert) dst[a.topk_ids[i]] += 1.0;
    }
  }
  return out;
}

DomainSpecialisation domain_specialisation(const TagLoads& l, int32_t layer, int32_t max_distinctive) {
  require_layer(l, layer, "domain_specialisation");
  const size_t n_tags = l.tags.size();
  const size_t E = static_cast<size_t>(l.n_experts);
  DomainSpecialisation out;
  out.layer = layer;
  out.uniform_share = 1.0 / l.n_experts;
  out.share.assign(n_tags * E, 0.0);
  for (size_t t = 0; t < n_tags; ++t) {
    const double* c = tag_layer(l, t, layer);
    double sum = 0.0;
    for (size_t e = 0; e < E; ++e) sum += c[e];
    if (sum > 0.0) {
      for (size_t e = 0; e < E; ++e) out.share[t * E + e] = c[e] / sum;
    }
  }
  out.distinctive.resize(n_tags);
  for (size_t t = 0; t < n_tags; ++t) {
    std::vector<DistinctiveExpert> list;
    for (size_t e = 0; e < E; ++e) {
      double other = n_tags == 1 ? out.uniform_share : 0.0;
      for (size_t u = 0; u < n_tags; ++u) {
        if (u != t) other = std::max(other, out.share[u * E + e]);
      }
      const double margin = out.share[t * E + e] - other;
      if (margin > 0.0) list.push_back({static_cast<int32_t>(e), out.share[t * E + e], margin});
    }
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.margin > b.margin; });
    if (static_cast<int32_t>(list.size()) > max_distinctive) list.resize(std::max(0, max_distinctive));
    out.distinctive[t] = std::move(list);
  }
  return out;
}

std::vector<ExpertPreference> expert_tag_preference(const TagLoads& l, int32_t layer) {
  require_layer(l, layer, "expert_tag_preference");
  const size_t n_tags = l.tags.size();
  double n_total = 0.0;
  for (int64_t t : l.tokens) n_total += static_cast<double>(t);
  std::vector<ExpertPreference> out(l.n_experts);
  for (int32_t e = 0; e < l.n_experts; ++e) {
    ExpertPreference& p = out[e];
    p.expert = e;
    p.dof = n_tags > 0 ? static_cast<int32_t>(n_tags) - 1 : 0;
    double routed = 0.0;
    for (size_t t = 0; t < n_tags; ++t) routed += tag_layer(l, t, layer)[e];
    if (routed <= 0.0 || n_total <= 0.0) continue;
    const double rate = routed / n_total;
    double best_rate = -1.0;
    for (size_t t = 0; t < n_tags; ++t) {
      const double n_tag = static_cast<double>(l.tokens[t]);
      if (n_tag <= 0.0) continue;
      const double observed = tag_layer(l, t, layer)[e];
      if (observed / n_tag > best_rate) {
        best_rate = observed / n_tag;
        p.preferred_tag = static_cast<int32_t>(t);
        p.z_preferred = rate < 1.0 ? (observed - n_tag * rate) / std::sqrt(n_tag * rate * (1.0 - rate)) : 0.0;
      }
      // Cells (routed here, not routed here) against their expectation under independence.
      const double expect_in = n_tag * rate;
      const double expect_out = n_tag * (1.0 - rate);
      if (expect_in > 0.0) p.chi_square += (observed - expect_in) * (observed - expect_in) / expect_in;
      if (expect_out > 0.0) {
        const double out_obs = n_tag - observed;
        p.chi_square += (out_obs - expect_out) * (out_obs - expect_out) / expect_out;
      }
    }
    p.lift = best_rate / rate;
    p.p_value = (p.dof >= 1 && rate < 1.0) ? chi_square_upper_tail(p.chi_square, p.dof) : 1.0;
  }
  return out;
}

std::vector<double> tag_js_divergence(const TagLoads& l, std::string_view tag_a, std::string_view tag_b) {
  auto index = [&](std::string_view tag) {
    const auto it = std::find(l.tags.begin(), l.tags.end(), tag);
    if (it == l.tags.end()) fail_input("tag comparison: no run is tagged '" + std::string(tag) + "'");
    return static_cast<size_t>(it - l.tags.begin());
  };
  const size_t block = static_cast<size_t>(l.n_layers) * l.n_experts;
  const std::span<const double> all(l.load);
  return js_divergence_per_layer(all.subspan(index(tag_a) * block, block), all.subspan(index(tag_b) * block, block),
                                 l.n_layers, l.n_experts);
}

}  // namespace moescope::analysis
