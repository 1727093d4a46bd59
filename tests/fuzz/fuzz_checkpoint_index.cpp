// Fuzz target: open_checkpoint on a folder whose model.safetensors.index.json is the input. The
// folder also holds two valid shards and a link that leads out of it, so a mutated index can name
// real files, wrong files and the escape. What opens must map every tensor to the shard named.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace moescope;

const std::filesystem::path& checkpoint_dir() {
  static const std::filesystem::path dir = [] {
    auto root = fuzz::scratch_dir() / "checkpoint";
    std::filesystem::create_directories(root);
    const float values[4] = {1, 2, 3, 4};
    write_safetensors(root / "model-00001-of-00002.safetensors",
                      {make_f32_tensor("model.a", {2}, std::span(values, 2)), make_f32_tensor("model.b", {2, 1}, std::span(values + 2, 2))});
    write_safetensors(root / "model-00002-of-00002.safetensors", {make_f32_tensor("lm_head.weight", {4}, std::span(values, 4))});
    // A shard outside the folder and a link to it: the index may never reach it.
    write_safetensors(fuzz::scratch_dir() / "outside.safetensors", {make_f32_tensor("model.c", {1}, std::span(values, 1))});
    std::filesystem::create_symlink("../outside.safetensors", root / "escape.safetensors");
    return root;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = checkpoint_dir();
  fuzz::write_input("checkpoint/model.safetensors.index.json", data, size);
  try {
    const auto checkpoint = open_checkpoint(dir);
    for (const auto& [name, view] : checkpoint.tensors) {
      if (view.name() != name) fuzz::violated("tensor map key differs from the tensor's name");
      if (view.name() == "model.c") fuzz::violated("a shard outside the checkpoint folder was opened");
    }
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}
