// The offload what-if's definitions written out the plain way, for tests to check
// core/expert_cache.h and core/analysis/offload_whatif.h against: the cache is a list scanned on
// every decision, belady searches the future forward, and the lookup sequence is built from a set
// of the experts each step has already named. Shares no code with what it checks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/analysis/routing_arrays.h"

namespace moescope::test {

// Hits of one cache of `capacity` slots fed `seq`; policy "lru", "lfu" or "belady" (docs/offload.md).
inline int64_t reference_cache_hits(const std::string& policy, int32_t capacity, int32_t n_experts,
                                    const std::vector<int32_t>& seq) {
  std::vector<int32_t> cached;
  std::vector<int64_t> last(static_cast<size_t>(n_experts), -1), count(static_cast<size_t>(n_experts), 0);
  int64_t hits = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    const int32_t e = seq[i];
    last[e] = static_cast<int64_t>(i);
    ++count[e];
    if (std::find(cached.begin(), cached.end(), e) != cached.end()) {
      ++hits;
      continue;
    }
    if (static_cast<int32_t>(cached.size()) == capacity) {
      // Each expert's next use, found by one scan of the future (never again = the end).
      std::vector<int64_t> next_of_expert(static_cast<size_t>(n_experts), static_cast<int64_t>(seq.size()));
      for (size_t j = seq.size(); j-- > i + 1;) next_of_expert[seq[j]] = static_cast<int64_t>(j);
      size_t worst = 0;
      for (size_t c = 1; c < cached.size(); ++c) {
        const int32_t a = cached[c], b = cached[worst];
        bool evict_a_first = false;
        if (policy == "lru") {
          evict_a_first = last[a] < last[b];
        } else if (policy == "lfu") {
          evict_a_first = count[a] < count[b] || (count[a] == count[b] && last[a] < last[b]);
        } else {
          evict_a_first = next_of_expert[a] > next_of_expert[b];
        }
        if (evict_a_first) worst = c;
      }
      cached.erase(cached.begin() + static_cast<std::ptrdiff_t>(worst));
    }
    cached.push_back(e);
  }
  return hits;
}

// Per MoE layer (slot in the arrays), the experts in (step, position, rank) order, once per step.
inline std::vector<std::vector<int32_t>> reference_lookups(const analysis::RoutingArrays& a) {
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(a.n_layers));
  for (int32_t l = 0; l < a.n_layers; ++l) {
    std::set<int32_t> named_this_step;
    for (int32_t t = 0; t < a.n_tokens; ++t) {
      if (t > 0 && a.step_of_token[t] != a.step_of_token[t - 1]) named_this_step.clear();
      for (int32_t r = 0; r < a.top_k; ++r) {
        const int32_t e = a.topk_ids[(static_cast<size_t>(l) * a.n_tokens + t) * a.top_k + r];
        if (named_this_step.insert(e).second) out[l].push_back(e);
      }
    }
  }
  return out;
}

}  // namespace moescope::test
