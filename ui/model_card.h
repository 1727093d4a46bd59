// The start page's model card for a checkpoint folder: family, sizes, parameters, dtype and the
// memory a run needs. Reads config and safetensors headers only (weights stay mapped, unread).
#pragma once

#include <filesystem>

#include "ui/session_data.h"

namespace moescope::ui {

struct CheckpointCard {
  ModelCard card;
  int64_t weight_bytes = 0;        // as stored in the checkpoint
  int64_t kv_bytes_per_token = 0;  // float32 KV cache of all layers for one token
};

// Throws InputError naming the folder when it is not a loadable checkpoint.
CheckpointCard describe_checkpoint(const std::filesystem::path& dir);

// "1.23 GB", "512 MB", "64 KB".
std::string format_bytes(double bytes);
// "46.7B", "1.3M", "532K".
std::string format_count(double count);

}  // namespace moescope::ui
