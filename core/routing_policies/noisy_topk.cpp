// Shazeer et al. learn the noise scale per expert (Softplus(x W_noise)); a recorded model has no
// W_noise, so the scale is one number, --noise-std.
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/routing.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/policy_step_checks.h"
#include "core/routing_policies/split_mix.h"

namespace moescope::routing_policies {

namespace {

// A standard normal draw from two counter-based uniforms (Box-Muller), the same on every platform.
double standard_normal(uint64_t seed, int32_t layer_id, int64_t position, int32_t expert) {
  const uint64_t key = split_mix64(split_mix64(split_mix64(seed) ^ static_cast<uint64_t>(layer_id)) ^
                                   static_cast<uint64_t>(position)) ^
                       static_cast<uint64_t>(expert);
  const double u1 = (static_cast<double>(split_mix64(key) >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
  const double u2 = static_cast<double>(split_mix64(key ^ 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

void route_noisy_topk(int32_t k, double noise_std, uint64_t seed, const StepLogits& in,
                      const StepRouting& out) {
  check_step(in, out, k, "noisy-topk");
  if (!std::isfinite(noise_std) || noise_std < 0)
    fail_input("noisy-topk routing: --noise-std must be a finite number >= 0, got " +
               std::to_string(noise_std));
  const int32_t E = in.n_experts;
  std::vector<float> noisy(static_cast<size_t>(E));  // (n_experts) H for one token
  std::vector<int32_t> kept;
  for (int32_t t = 0; t < in.n_tokens; ++t) {
    for (int32_t e = 0; e < E; ++e)
      noisy[e] = static_cast<float>(in.router_logits[static_cast<size_t>(t) * E + e] +
                                    noise_std * standard_normal(seed, in.layer_id, in.first_position + t, e));
    top_k_indices(noisy, k, kept);
    // Softmax over the kept entries only (KeepTopK sets the others to -inf before the softmax).
    double sum = 0;
    for (int32_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(noisy[kept[j]] - noisy[kept[0]]));
    for (int32_t j = 0; j < k; ++j) {
      out.ids[static_cast<size_t>(t) * k + j] = kept[j];
      out.weights[static_cast<size_t>(t) * k + j] =
          static_cast<float>(std::exp(static_cast<double>(noisy[kept[j]] - noisy[kept[0]])) / sum);
    }
  }
}

}  // namespace moescope::routing_policies
