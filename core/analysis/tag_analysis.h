// Routing by prompt tag (code, poetry, math, ...): OLMoE's domain specialisation, and for each
// expert whether it prefers one tag more than chance explains (chi-square test of independence).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

struct TaggedRouting {
  std::string tag;
  const RoutingArrays* arrays = nullptr;  // not owned
};

// Runs pooled by tag, tags in order of first appearance. All runs must share n_layers, n_experts
// and top_k (InputError naming the tag otherwise).
struct TagLoads {
  std::vector<std::string> tags;
  int32_t n_layers = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  std::vector<double> load;     // (n_tags, n_layers, n_experts) assignments c_{tag,layer,e}
  std::vector<int64_t> tokens;  // (n_tags) tokens seen under the tag
};

TagLoads tag_loads(std::span<const TaggedRouting> runs);

struct DistinctiveExpert {
  int32_t expert = 0;
  double share = 0.0;   // the tag's share for this expert
  double margin = 0.0;  // share minus the largest share any other tag gives it (minus 1/E with one tag)
};

struct DomainSpecialisation {
  int32_t layer = 0;            // index into the MoE layers
  double uniform_share = 0.0;   // 1 / E
  std::vector<double> share;    // (n_tags, n_experts) c_{tag,e} / sum_e c_{tag,e}; OLMoE's token fraction is top_k * share
  std::vector<std::vector<DistinctiveExpert>> distinctive;  // (n_tags) margin > 0, largest first, at most max_distinctive
};

DomainSpecialisation domain_specialisation(const TagLoads& loads, int32_t layer, int32_t max_distinctive = 5);

struct ExpertPreference {
  int32_t expert = 0;
  int32_t preferred_tag = -1;  // index into tags: the highest share of the tag's tokens routed here; -1 if unused
  double lift = 0.0;           // that tag's rate / the pooled rate (1 = no preference)
  double z_preferred = 0.0;    // binomial z of the preferred tag's count against the pooled rate
  double chi_square = 0.0;     // 2 x n_tags table (tokens routed here or not, per tag)
  int32_t dof = 0;             // n_tags - 1
  double p_value = 1.0;        // P(chi-square_dof >= chi_square); 1 when dof = 0 or the expert is never/always used
};

// (n_experts) for one layer. Each token picks an expert at most once, so the test's trials are
// tokens; tokens of one prompt are not independent, so read small p-values as "large effect"
// rather than exact probabilities.
std::vector<ExpertPreference> expert_tag_preference(const TagLoads& loads, int32_t layer);

// (n_layers) Jensen-Shannon divergence (bits) between the pooled loads of two tags; InputError for
// a tag that is not in `loads`.
std::vector<double> tag_js_divergence(const TagLoads& loads, std::string_view tag_a, std::string_view tag_b);

}  // namespace moescope::analysis
