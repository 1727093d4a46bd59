// An expert cache's hits at every size in one pass (Mattson, Gecsei, Slutz and Traiger 1970,
// "Evaluation techniques for storage hierarchies"). LRU, LFU and Belady each evict by a key that
// does not depend on the cache's size (core/expert_cache.h, eviction_key), so a cache of C slots
// always holds the top C entries of one stack, and a lookup found at depth d hits in every cache of
// d or more slots. The what-if's curves (hit rate against size) cost one pass per layer and policy
// this way, instead of one simulation per size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/expert_cache.h"

namespace moescope::analysis {

// hits[c - 1]: the hits of a cache of c slots (1..n_experts) over `lookups`, starting empty; equal
// to an ExpertCache of that size driven with access(). InputError for an expert outside [0, n_experts).
std::vector<int64_t> cache_hits_at_every_size(CachePolicy policy, int32_t n_experts,
                                              std::span<const int32_t> lookups);

}  // namespace moescope::analysis
