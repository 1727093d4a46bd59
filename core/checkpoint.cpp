#include "core/checkpoint.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/input_file.h"

namespace moescope {

namespace {

// Pickle files execute code when loaded: they are refused, never parsed.
void refuse_pickle_only(const std::filesystem::path& dir) {
  std::vector<std::string> pickles;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto ext = entry.path().extension().string();
    if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt") pickles.push_back(entry.path().filename().string());
  }
  std::string found = pickles.empty() ? "" : " (found " + pickles.front() + ")";
  fail_input(dir.string() + ": no model.safetensors or model.safetensors.index.json" + found +
             (pickles.empty() ? ""
                              : "; PyTorch pickle checkpoints (*.bin, *.pt) are refused because loading "
                                "them can run arbitrary code: convert them to safetensors first"));
}

// A shard name from the index must be a bare file inside the folder: no separators, no "..", and
// not a link that leads out of it.
std::filesystem::path shard_path(const std::filesystem::path& dir, const std::string& name, const std::string& index_label) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
    fail_input(index_label + ": shard name '" + name + "' must be a bare file name inside the checkpoint folder");
  auto path = dir / name;
  std::error_code ec;
  if (std::filesystem::is_symlink(path, ec)) {
    auto target = std::filesystem::weakly_canonical(path, ec);
    auto root = std::filesystem::weakly_canonical(dir, ec);
    if (target.parent_path() != root)
      fail_input(index_label + ": shard '" + name + "' is a link that leads outside the checkpoint folder");
  }
  return path;
}

}  // namespace

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

const TensorView& Checkpoint::get(const std::string& name) const {
  const TensorView* view = find(name);
  if (!view) fail_input(dir.string() + ": missing tensor '" + name + "'");
  return *view;
}

Checkpoint open_checkpoint(const std::filesystem::path& dir) {
  Checkpoint checkpoint;
  checkpoint.dir = dir;
  if (!std::filesystem::is_directory(dir)) fail_input(dir.string() + ": not a checkpoint folder");
  const auto single = dir / "model.safetensors";
  const auto index = dir / "model.safetensors.index.json";

  if (std::error_code error; std::filesystem::exists(std::filesystem::symlink_status(index, error))) {
    const std::string label = index.string();
    const std::string text = read_regular_file(index, kMaxCheckpointIndexBytes);
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail_input(label + ": not valid JSON: " + e.what());
    }
    if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
      fail_input(label + ": expected an object with a \"weight_map\" object");
    std::map<std::string, size_t> shard_index;
    std::vector<std::pair<std::string, std::string>> wanted;  // tensor -> shard
    for (auto& [tensor, shard] : root["weight_map"].items()) {
      if (!shard.is_string()) fail_input(label + ": weight_map entry '" + tensor + "' is not a file name");
      wanted.emplace_back(tensor, shard.get<std::string>());
      if (!shard_index.count(shard.get<std::string>())) {
        auto path = shard_path(dir, shard.get<std::string>(), label);
        shard_index[shard.get<std::string>()] = checkpoint.files.size();
        checkpoint.files.push_back(open_safetensors(path));
      }
    }
    for (const auto& [shard, file_idx] : shard_index) {
      const auto& file = *checkpoint.files[file_idx];
      for (size_t i = 0; i < file.header.tensors.size(); ++i) {
        const auto& name = file.header.tensors[i].name;
        if (checkpoint.tensors.count(name))
          fail_input(label + ": tensor '" + name + "' appears in more than one shard");
        checkpoint.tensors.emplace(name, file.view(i));
      }
    }
    for (const auto& [tensor, shard] : wanted) {
      auto it = checkpoint.tensors.find(tensor);
      if (it == checkpoint.tensors.end() || *it->second.file != checkpoint.files[shard_index[shard]]->path)
        fail_input(label + ": tensor '" + tensor + "' is not in shard '" + shard + "' as the index says");
    }
    if (checkpoint.tensors.size() != wanted.size())
      fail_input(label + ": shards hold " + std::to_string(checkpoint.tensors.size()) + " tensors but the index names " +
                 std::to_string(wanted.size()));
  } else if (std::error_code error; std::filesystem::exists(std::filesystem::symlink_status(single, error))) {
    // Present, even as a dangling link or a loop of links: open_safetensors names what is wrong.
    checkpoint.files.push_back(open_safetensors(single));
    const auto& file = *checkpoint.files.back();
    for (size_t i = 0; i < file.header.tensors.size(); ++i)
      checkpoint.tensors.emplace(file.header.tensors[i].name, file.view(i));
  } else {
    refuse_pickle_only(dir);
  }
  return checkpoint;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::vector<float> read_tensor_f32(const Checkpoint& checkpoint, const std::string& name) {
  const TensorView& view = checkpoint.get(name);
  std::vector<float> out(static_cast<size_t>(view.numel()));
  convert_to_f32(view, 0, view.numel(), out.data());
  if (view.dtype() == DType::f8_e4m3 && view.shape().size() == 2) {
    // e4m3 alone is not the weight: DeepSeek-V3's layout multiplies each 128x128 block by its scale.
    const int64_t rows = view.shape()[0], cols = view.shape()[1];
    const int64_t block_rows = (rows + 127) / 128, block_cols = (cols + 127) / 128;
    const std::vector<int64_t> scale_shape = {block_rows, block_cols};
    const TensorView* scale = checkpoint.find(name + "_scale_inv");
    if (!scale) {
      fail_input(*view.file + ": F8_E4M3 tensor '" + name + "' " + shape_text(view.shape()) + " has no block scales '" +
                 name + "_scale_inv' (expected shape " + shape_text(scale_shape) + ", one per 128x128 block)");
    }
    if (scale->shape() != scale_shape) {
      fail_input(*scale->file + ": '" + scale->name() + "' has shape " + shape_text(scale->shape()) + ", expected " +
                 shape_text(scale_shape) + ", one scale per 128x128 block of the F8_E4M3 tensor '" + name + "' " +
                 shape_text(view.shape()));
    }
    std::vector<float> scales(static_cast<size_t>(scale->numel()));
    convert_to_f32(*scale, 0, scale->numel(), scales.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) out[r * cols + c] *= scales[(r / 128) * block_cols + c / 128];
  }
  return out;
}

}  // namespace moescope
