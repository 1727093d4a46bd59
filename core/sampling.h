// Choosing the next token from logits: greedy, or temperature + top-p with a seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace moescope {

struct SamplingParams {
  double temperature = 0.0;  // 0: greedy
  double top_p = 1.0;
  uint64_t seed = 0;
};

int32_t sample_token(std::span<const float> logits, const SamplingParams& params, std::mt19937_64& rng);

// log softmax(logits)[token], computed stably.
double token_logprob(std::span<const float> logits, int32_t token);

}  // namespace moescope
