// A checkpoint folder as downloaded from Hugging Face: config.json plus model.safetensors or a
// sharded set named by model.safetensors.index.json. Pickle checkpoints are refused.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/safetensors.h"

namespace moescope {

struct Checkpoint {
  std::filesystem::path dir;
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::unordered_map<std::string, TensorView> tensors;  // name -> view into one of `files`

  const TensorView* find(const std::string& name) const;
  // The tensor, or an InputError naming the tensor and the checkpoint folder.
  const TensorView& get(const std::string& name) const;
};

Checkpoint open_checkpoint(const std::filesystem::path& dir);

// "[2, 3]": a tensor shape as messages write it.
std::string shape_text(const std::vector<int64_t>& shape);

// Reads a whole tensor as float32. A 2-D F8_E4M3 weight is dequantised with its `<name>_scale_inv`
// 128x128 block scales (DeepSeek-V3's release format); missing scales, or scales of another shape,
// are an InputError naming the tensor and both shapes.
std::vector<float> read_tensor_f32(const Checkpoint& checkpoint, const std::string& name);

}  // namespace moescope
