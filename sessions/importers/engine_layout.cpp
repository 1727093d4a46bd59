#include "sessions/importers/engine_layout.h"

#include "core/error.h"

namespace moescope::sessions {

int64_t engine_layout_positions(int64_t n_values, const ModelConfig& config, const std::string& where) {
  const int64_t per_position = config.num_layers * config.top_k;
  if (n_values == 0) fail_input(where + ": no expert ids");
  if (n_values % per_position != 0) {
    fail_input(where + ": " + std::to_string(n_values) + " expert ids do not divide into the config's " +
               std::to_string(config.num_layers) + " layers x top-" + std::to_string(config.top_k) +
               " per token (a capture of another model, or truncated)");
  }
  return n_values / per_position;
}

void take_engine_layout(std::span<const int32_t> values, int64_t n_positions, const ModelConfig& config,
                        const std::string& where, CapturedRequest& request) {
  const int64_t n_layers = config.num_layers;
  const int64_t k = config.top_k;
  if (static_cast<int64_t>(values.size()) != n_positions * n_layers * k) {
    fail_input(where + ": " + std::to_string(values.size()) + " expert ids, expected " +
               std::to_string(n_positions) + " tokens x " + std::to_string(n_layers) + " layers x top-" +
               std::to_string(k));
  }
  const std::vector<int32_t> moe_layers = config.moe_layers();
  request.n_positions = n_positions;
  request.topk_ids.resize(moe_layers.size() * static_cast<size_t>(n_positions * k));
  size_t out = 0;
  for (int32_t layer : moe_layers) {
    for (int64_t t = 0; t < n_positions; ++t) {
      const size_t in = static_cast<size_t>((t * n_layers + layer) * k);
      for (int64_t r = 0; r < k; ++r) {
        const int32_t id = values[in + static_cast<size_t>(r)];
        if (id < 0 || id >= config.n_routed_experts) {
          fail_input(where + ": expert id " + std::to_string(id) + " at token " + std::to_string(t) + ", layer " +
                     std::to_string(layer) + " is outside the config's " + std::to_string(config.n_routed_experts) +
                     " routed experts");
        }
        request.topk_ids[out++] = id;
      }
    }
  }
}

}  // namespace moescope::sessions
