// Focus: next-token choice. Greedy takes the argmax; temperature/top-p sampling is reproducible from
// its seed and never leaves the nucleus; log-probabilities are normalised.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/sampling.h"

namespace moescope {
namespace {

TEST(Sampling, GreedyTakesTheArgmax) {
  std::mt19937_64 rng(1);
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(sample_token(logits, {0.0, 1.0, 0}, rng), 1);
}

TEST(Sampling, SameSeedSameSequence) {
  const std::vector<float> logits = {0.5f, 0.4f, 0.3f, 0.2f, 0.1f};
  auto draw = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int32_t> out;
    for (int i = 0; i < 50; ++i) out.push_back(sample_token(logits, {1.0, 1.0, seed}, rng));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(Sampling, TopPKeepsOnlyTheNucleus) {
  // Probabilities at T=1: token 0 holds ~0.84 of the mass, so top_p 0.5 leaves only token 0.
  const std::vector<float> logits = {3.0f, 0.0f, 0.0f, 0.0f};
  std::mt19937_64 rng(3);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(sample_token(logits, {1.0, 0.5, 3}, rng));
  EXPECT_EQ(seen, std::set<int32_t>{0});
  seen.clear();
  for (int i = 0; i < 400; ++i) seen.insert(sample_token(logits, {1.0, 1.0, 3}, rng));
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Sampling, LogprobsAreNormalised) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  double total = 0;
  for (int32_t t = 0; t < 3; ++t) total += std::exp(token_logprob(logits, t));
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_NEAR(token_logprob(logits, 2), 3.0 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), 1e-12);
}

}  // namespace
}  // namespace moescope
