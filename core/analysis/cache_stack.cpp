#include "core/analysis/cache_stack.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/error.h"

namespace moescope::analysis {

std::vector<int64_t> cache_hits_at_every_size(CachePolicy policy, int32_t n_experts,
                                              std::span<const int32_t> lookups) {
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();  // as ExpertCache: never used again
  const auto n = static_cast<size_t>(std::max(0, n_experts));
  for (int32_t expert : lookups) {
    if (expert < 0 || expert >= n_experts) {
      fail_input("expert cache: lookup of expert " + std::to_string(expert) + ", expected an id in [0, " +
                 std::to_string(n_experts) + ")");
    }
  }
  std::vector<ExpertUse> use(n);
  // belady: for each lookup, the index of the same expert's next lookup.
  std::vector<int64_t> next_lookup;
  if (policy == CachePolicy::belady) {
    next_lookup.assign(lookups.size(), kNever);
    std::vector<int64_t> upcoming(n, kNever);
    for (size_t i = lookups.size(); i-- > 0;) {
      const auto e = static_cast<size_t>(lookups[i]);
      next_lookup[i] = upcoming[e];
      upcoming[e] = static_cast<int64_t>(i);
    }
  }
  std::vector<int64_t> found_at_depth(n, 0);  // lookups found at depth d (0 = top)
  std::vector<int32_t> stack;                 // every expert looked up so far, top first
  stack.reserve(n);
  int64_t tick = 0;
  for (size_t i = 0; i < lookups.size(); ++i) {
    const int32_t x = lookups[i];
    ExpertUse& u = use[static_cast<size_t>(x)];  // the use this lookup counts, as ExpertCache::lookup
    u.last_use = tick++;
    ++u.lookups;
    if (policy == CachePolicy::belady) u.next_use = next_lookup[i];
    const auto it = std::find(stack.begin(), stack.end(), x);
    const auto depth = static_cast<size_t>(it - stack.begin());
    if (it != stack.end()) {
      ++found_at_depth[depth];
    } else {
      stack.push_back(x);  // a miss at every size: the stack grows by one
    }
    // x goes on top. Going down to its old place, each level keeps whichever of its entry and the
    // one carried from above the policy would evict later, and carries the other on: the carried
    // entry at level C is what a cache of C slots evicts for x.
    if (depth > 0) {
      int32_t carried = stack[0];
      stack[0] = x;
      for (size_t j = 1; j < depth; ++j) {
        const auto key_here = eviction_key(policy, use[static_cast<size_t>(stack[j])], stack[j]);
        if (key_here < eviction_key(policy, use[static_cast<size_t>(carried)], carried)) std::swap(stack[j], carried);
      }
      stack[depth] = carried;
    }
  }
  std::vector<int64_t> hits(n, 0);
  int64_t running = 0;
  for (size_t c = 0; c < n; ++c) {
    running += found_at_depth[c];
    hits[c] = running;
  }
  return hits;
}

}  // namespace moescope::analysis
