// A loaded model: config, mapped checkpoint and bound weights. Engines borrow it.
#pragma once

#include <filesystem>
#include <memory>

#include "core/checkpoint.h"
#include "core/model_config.h"
#include "core/model_weights.h"
#include "core/tokenizer.h"

namespace moescope {

struct Model {
  std::filesystem::path dir;
  ModelConfig config;
  Checkpoint checkpoint;
  ModelWeights weights;  // views into `checkpoint`
  int64_t parameter_count = 0;         // all weights
  int64_t active_parameter_count = 0;  // per token: attention, dense, shared and top_k experts
};

// Loads config.json and the safetensors checkpoint, and binds every weight (no compute).
std::unique_ptr<Model> load_model(const std::filesystem::path& dir);

}  // namespace moescope
