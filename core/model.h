// A loaded model: config, mapped checkpoint and bound weights. Engines borrow it.
#pragma once

#include <filesystem>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/model_config.h"
#include "core/model_weights.h"
#include "core/tokenizer.h"

namespace moescope {

// Tensors the model holds itself rather than views into the checkpoint (fp8 weights quantised at
// load, core/model_fp8.h). Deques, so views handed out stay valid as more are added.
struct OwnedTensors {
  std::string label;  // what the views' `file` names in messages
  std::deque<TensorInfo> infos;
  std::deque<std::vector<std::byte>> data;
  std::deque<TensorView> views;
};

struct Model {
  std::filesystem::path dir;
  ModelConfig config;
  Checkpoint checkpoint;
  ModelWeights weights;  // views into `checkpoint` (or `owned`)
  std::unique_ptr<OwnedTensors> owned;  // null unless some weights were converted at load
  int64_t parameter_count = 0;         // all weights
  int64_t active_parameter_count = 0;  // per token: attention, dense, shared and top_k experts
};

// Loads config.json and the safetensors checkpoint, and binds every weight (no compute).
std::unique_ptr<Model> load_model(const std::filesystem::path& dir);

}  // namespace moescope
