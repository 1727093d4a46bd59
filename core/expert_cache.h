// The expert cache of one MoE layer: `capacity` slots holding routed experts, and the policy that
// picks which one to evict when a missing expert has to come in. One component serves both the
// offload what-if over recorded sessions (core/analysis/offload_whatif.h) and, later, an engine that
// keeps experts in host memory and copies them to the GPU on demand, so its behaviour is tested on
// the CPU once (tests/core/test_expert_cache.cpp).
//
// Policies:
//   lru     evicts the expert whose last use is oldest.
//   lfu     evicts the expert looked up least often over the whole history so far (counts survive
//           eviction: an expert's popularity is a property of the workload, not of its stay in the
//           cache), ties going to the least recently used.
//   belady  evicts the expert whose next lookup in a recorded future is farthest away (never again
//           counts as farthest). Given the exact sequence it replays, no demand-loading cache of the
//           same size hits more often, so it is the upper bound for any real policy.
//
// A lookup sequence is driven either one call at a time (lookup, then on a miss victim/evict/insert:
// what an engine that overlaps copies needs) or with access(), which does exactly that.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace moescope {

enum class CachePolicy : uint8_t { lru, lfu, belady };

inline constexpr CachePolicy kAllCachePolicies[] = {CachePolicy::lru, CachePolicy::lfu, CachePolicy::belady};

std::string_view cache_policy_name(CachePolicy policy);
std::optional<CachePolicy> parse_cache_policy(std::string_view name);

// What a policy knows of one expert when it orders evictions.
struct ExpertUse {
  int64_t last_use = -1;  // tick of the last lookup or insert, -1 never
  int64_t lookups = 0;    // lookups so far
  int64_t next_use = 0;   // belady: index of the next lookup in the recorded future (max: never)
};

// The order a policy evicts in: of two cached experts, the one with the smaller key goes first. The
// one definition ExpertCache and the what-if's all-sizes pass (analysis/cache_stack.h) share.
using EvictionKey = std::tuple<int64_t, int64_t, int32_t>;
EvictionKey eviction_key(CachePolicy policy, const ExpertUse& use, int32_t expert);

struct CacheAccess {
  bool hit = false;
  int32_t evicted = -1;  // the expert that made room on a miss, -1 when a slot was free (or on a hit)
};

class ExpertCache {
 public:
  // InputError unless 1 <= capacity <= n_experts.
  ExpertCache(CachePolicy policy, int32_t capacity, int32_t n_experts);

  // belady only, before the first lookup: the lookup sequence this cache will see, in order. Each
  // lookup() must then name the next expert of it (InputError otherwise: the oracle would be wrong).
  void set_future(std::span<const int32_t> future_lookups);

  // One lookup of the sequence: counts a use of `expert` (recency, frequency, the oracle's cursor)
  // and says whether it is cached. Inserts nothing.
  bool lookup(int32_t expert);
  // The expert the policy would evict now; -1 while a slot is free.
  int32_t victim() const;
  // The same, passing over the experts in `keep` (an engine's experts still in use); -1 while a slot
  // is free or when every cached expert is kept.
  int32_t victim(std::span<const int32_t> keep) const;
  void evict(int32_t expert);   // InputError unless cached
  void insert(int32_t expert);  // InputError if cached or no slot is free
  // lookup(), and on a miss evict victim() if the cache is full, then insert.
  CacheAccess access(int32_t expert);

  bool contains(int32_t expert) const;
  std::vector<int32_t> cached() const;  // ascending expert ids
  int32_t size() const { return static_cast<int32_t>(entries_.size()); }
  int32_t capacity() const { return capacity_; }
  CachePolicy policy() const { return policy_; }

 private:
  // The cached experts ordered so that begin() is the victim: (primary, secondary, expert).
  using Key = EvictionKey;
  Key key_of(int32_t expert) const;
  int64_t next_use(int32_t expert) const;  // belady: index of the next lookup of expert >= cursor_
  void check_expert(int32_t expert, const char* what) const;

  CachePolicy policy_;
  int32_t capacity_;
  int32_t n_experts_;
  int64_t tick_ = 0;               // counts lookups and inserts; stamps recency
  std::vector<int64_t> last_use_;  // (n_experts) tick of the last lookup or insert, -1 never
  std::vector<int64_t> lookups_;   // (n_experts) lookups so far
  std::vector<bool> cached_;       // (n_experts)
  std::set<Key> entries_;          // one per cached expert

  // belady: the recorded sequence, its cursor, and per expert the indices where it occurs.
  std::vector<int32_t> future_;
  int64_t cursor_ = 0;
  std::vector<std::vector<int64_t>> occurrences_;  // (n_experts, lookups of that expert) ascending
  std::vector<size_t> next_occurrence_;            // (n_experts) first entry of occurrences_ >= cursor_
};

}  // namespace moescope
