#include "core/expert_cache.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace moescope {
namespace {

constexpr int64_t kNeverUsedAgain = std::numeric_limits<int64_t>::max();

}  // namespace

std::string_view cache_policy_name(CachePolicy policy) {
  switch (policy) {
    case CachePolicy::lru:
      return "lru";
    case CachePolicy::lfu:
      return "lfu";
    case CachePolicy::belady:
      return "belady";
  }
  return "?";
}

std::optional<CachePolicy> parse_cache_policy(std::string_view name) {
  for (CachePolicy policy : kAllCachePolicies) {
    if (cache_policy_name(policy) == name) return policy;
  }
  return std::nullopt;
}

ExpertCache::ExpertCache(CachePolicy policy, int32_t capacity, int32_t n_experts)
    : policy_(policy), capacity_(capacity), n_experts_(n_experts) {
  if (n_experts < 1 || capacity < 1 || capacity > n_experts) {
    fail_input("expert cache: capacity " + std::to_string(capacity) + " slots must be between 1 and the " +
               std::to_string(n_experts) + " experts of a layer");
  }
  const auto n = static_cast<size_t>(n_experts);
  last_use_.assign(n, -1);
  lookups_.assign(n, 0);
  cached_.assign(n, false);
}

void ExpertCache::check_expert(int32_t expert, const char* what) const {
  if (expert < 0 || expert >= n_experts_) {
    fail_input(std::string("expert cache: ") + what + " of expert " + std::to_string(expert) +
               ", expected an id in [0, " + std::to_string(n_experts_) + ")");
  }
}

void ExpertCache::set_future(std::span<const int32_t> future_lookups) {
  if (policy_ != CachePolicy::belady) fail_input("expert cache: only belady reads the future lookups");
  if (tick_ != 0) fail_input("expert cache: the future lookups must be given before the first lookup");
  occurrences_.assign(static_cast<size_t>(n_experts_), {});
  next_occurrence_.assign(static_cast<size_t>(n_experts_), 0);
  for (size_t i = 0; i < future_lookups.size(); ++i) {
    check_expert(future_lookups[i], "future lookup");
    occurrences_[static_cast<size_t>(future_lookups[i])].push_back(static_cast<int64_t>(i));
  }
  future_.assign(future_lookups.begin(), future_lookups.end());
  cursor_ = 0;
}

int64_t ExpertCache::next_use(int32_t expert) const {
  const auto e = static_cast<size_t>(expert);
  if (occurrences_.empty() || next_occurrence_[e] >= occurrences_[e].size()) return kNeverUsedAgain;
  return occurrences_[e][next_occurrence_[e]];
}

EvictionKey eviction_key(CachePolicy policy, const ExpertUse& use, int32_t expert) {
  switch (policy) {
    case CachePolicy::lru:
      return {use.last_use, 0, expert};
    case CachePolicy::lfu:
      return {use.lookups, use.last_use, expert};
    case CachePolicy::belady:
      return {-use.next_use, 0, expert};  // farthest (or never) first
  }
  return {0, 0, expert};
}

ExpertCache::Key ExpertCache::key_of(int32_t expert) const {
  const auto e = static_cast<size_t>(expert);
  const ExpertUse use{last_use_[e], lookups_[e], policy_ == CachePolicy::belady ? next_use(expert) : 0};
  return eviction_key(policy_, use, expert);
}

bool ExpertCache::lookup(int32_t expert) {
  check_expert(expert, "lookup");
  const auto e = static_cast<size_t>(expert);
  if (policy_ == CachePolicy::belady) {
    if (cursor_ >= static_cast<int64_t>(future_.size())) {
      fail_input("expert cache: belady lookup " + std::to_string(cursor_) + " of expert " +
                 std::to_string(expert) + " is past the " + std::to_string(future_.size()) +
                 " recorded future lookups");
    }
    if (future_[static_cast<size_t>(cursor_)] != expert) {
      fail_input("expert cache: belady lookup " + std::to_string(cursor_) + " is expert " +
                 std::to_string(expert) + " but the recorded future says expert " +
                 std::to_string(future_[static_cast<size_t>(cursor_)]));
    }
  }
  const bool hit = cached_[e];
  if (hit) entries_.erase(key_of(expert));  // its key changes with the use counted below
  last_use_[e] = tick_++;
  ++lookups_[e];
  if (policy_ == CachePolicy::belady) {
    ++next_occurrence_[e];  // the occurrence at cursor_ is this lookup
    ++cursor_;
  }
  if (hit) entries_.insert(key_of(expert));
  return hit;
}

int32_t ExpertCache::victim() const {
  if (size() < capacity_) return -1;
  return std::get<2>(*entries_.begin());
}

int32_t ExpertCache::victim(std::span<const int32_t> keep) const {
  if (size() < capacity_) return -1;
  for (const Key& entry : entries_) {
    const int32_t expert = std::get<2>(entry);
    if (std::find(keep.begin(), keep.end(), expert) == keep.end()) return expert;
  }
  return -1;
}

void ExpertCache::evict(int32_t expert) {
  check_expert(expert, "eviction");
  if (!cached_[static_cast<size_t>(expert)]) {
    fail_input("expert cache: eviction of expert " + std::to_string(expert) + ", which is not cached");
  }
  entries_.erase(key_of(expert));
  cached_[static_cast<size_t>(expert)] = false;
}

void ExpertCache::insert(int32_t expert) {
  check_expert(expert, "insert");
  const auto e = static_cast<size_t>(expert);
  if (cached_[e])
    fail_input("expert cache: insert of expert " + std::to_string(expert) + ", which is cached");
  if (size() >= capacity_) {
    fail_input("expert cache: insert of expert " + std::to_string(expert) + " into a full cache of " +
               std::to_string(capacity_) + " slots");
  }
  last_use_[e] = tick_++;  // a prefetched expert counts as just used, so LRU does not evict it first
  cached_[e] = true;
  entries_.insert(key_of(expert));
}

CacheAccess ExpertCache::access(int32_t expert) {
  CacheAccess result;
  result.hit = lookup(expert);
  if (result.hit) return result;
  result.evicted = victim();
  if (result.evicted >= 0) evict(result.evicted);
  insert(expert);
  return result;
}

bool ExpertCache::contains(int32_t expert) const {
  return expert >= 0 && expert < n_experts_ && cached_[static_cast<size_t>(expert)];
}

std::vector<int32_t> ExpertCache::cached() const {
  std::vector<int32_t> out;
  for (int32_t e = 0; e < n_experts_; ++e) {
    if (cached_[static_cast<size_t>(e)]) out.push_back(e);
  }
  return out;
}

}  // namespace moescope
