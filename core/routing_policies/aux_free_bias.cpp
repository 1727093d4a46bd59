// The bias enters selection through core/routing's correction-bias input (the same place DeepSeek-V3's
// trained e_score_correction_bias enters), so weights stay the unbiased scores, as in the paper.
#include <string>
#include <vector>

#include "core/error.h"
#include "core/routing_policies/policies.h"

namespace moescope::routing_policies {

void route_aux_free_bias(const ModelConfig& config, int32_t k, double bias_rate, std::span<float> bias,
                         const StepLogits& in, const StepRouting& out) {
  if (static_cast<int32_t>(bias.size()) != in.n_experts)
    fail_input("aux-free-bias routing: the bias has " + std::to_string(bias.size()) + " values, expected " +
               std::to_string(in.n_experts));
  route_topk(config, k, bias, in, out);
  std::vector<int64_t> load(static_cast<size_t>(in.n_experts), 0);  // (n_experts) c_e of this step
  for (int32_t id : out.ids) ++load[static_cast<size_t>(id)];
  const double mean = static_cast<double>(in.n_tokens) * k / in.n_experts;
  for (int32_t e = 0; e < in.n_experts; ++e) {
    const double error = mean - static_cast<double>(load[e]);
    bias[e] += static_cast<float>(error > 0 ? bias_rate : error < 0 ? -bias_rate : 0.0);
  }
}

}  // namespace moescope::routing_policies
