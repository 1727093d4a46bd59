#include "core/model.h"

#include "core/error.h"
#include "core/weight_check.h"

namespace moescope {

namespace {

int64_t ffn_params(const FeedForwardWeights& f) {
  return f.gate.present() ? f.gate.rows * f.gate.cols + f.up.rows * f.up.cols + f.down.rows * f.down.cols : 0;
}

}  // namespace

std::unique_ptr<Model> load_model(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail_input(dir.string() + ": not a folder (expected a checkpoint folder with config.json)");
  auto model = std::make_unique<Model>();
  model->dir = dir;
  model->config = load_model_config(dir / "config.json");
  model->checkpoint = open_checkpoint(dir);
  check_weights_finite(model->checkpoint);
  model->weights = bind_model_weights(model->config, model->checkpoint);

  int64_t total = 0;
  for (const auto& [name, view] : model->checkpoint.tensors)
    if (name.find("_scale_inv") == std::string::npos) total += view.numel();
  int64_t routed_per_layer_all = 0, routed_per_layer_active = 0;
  for (const auto& layer : model->weights.layers) {
    if (layer.experts.empty()) continue;
    const int64_t per_expert = ffn_params(layer.experts.front());
    routed_per_layer_all += per_expert * static_cast<int64_t>(layer.experts.size());
    routed_per_layer_active += per_expert * model->config.top_k;
  }
  model->parameter_count = total;
  model->active_parameter_count = total - routed_per_layer_all + routed_per_layer_active;
  return model;
}

}  // namespace moescope
