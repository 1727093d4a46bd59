// SplitMix64 (Steele et al. 2014): a counter-based mixer, so noise and hashes are pure functions of
// their inputs and identical on every platform (std::normal_distribution is not).
#pragma once

#include <cstdint>

namespace moescope::routing_policies {

inline uint64_t split_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace moescope::routing_policies
