// Roller et al.'s best hash was a fixed random one (better than clustered or frequency-balanced
// hashes): here SplitMix64 of (seed, token id, slot), redrawn on a repeat so the k experts differ.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"
#include "core/routing_policies/split_mix.h"

namespace moescope::routing_policies {

void route_hash(int32_t k, uint64_t seed, const StepLogits& in, const StepRouting& out) {
  check_step(in, out, k, "hash");
  if (static_cast<int32_t>(in.token_ids.size()) != in.n_tokens)
    fail_input("hash routing: needs the step's " + std::to_string(in.n_tokens) + " token ids, got " +
               std::to_string(in.token_ids.size()));
  const uint64_t E = static_cast<uint64_t>(in.n_experts);
  for (int32_t t = 0; t < in.n_tokens; ++t) {
    int32_t* ids = out.ids.data() + static_cast<size_t>(t) * k;
    uint64_t draw =
        split_mix64(seed ^ split_mix64(static_cast<uint64_t>(static_cast<uint32_t>(in.token_ids[t]))));
    for (int32_t j = 0; j < k; ++j) {
      int32_t e;
      do {
        draw = split_mix64(draw);
        e = static_cast<int32_t>(draw % E);
      } while (std::find(ids, ids + j, e) != ids + j);
      ids[j] = e;
      out.weights[static_cast<size_t>(t) * k + j] = 1.0f / static_cast<float>(k);
    }
  }
}

}  // namespace moescope::routing_policies
