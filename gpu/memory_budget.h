// What the CUDA engine allocates when it is created: weights, the KV cache and the decode
// workspace (prefill workspaces are allocated per step and fail with their own error). Host
// arithmetic only, so a model over the user's memory cap is refused before any GPU is touched:
// the out-of-memory path is testable on machines without one.
#pragma once

#include <cstdint>
#include <string>

#include "core/engine.h"
#include "core/model_config.h"
#include "gpu/workspace.h"

namespace moescope::gpu {

struct DeviceMemoryBudget {
  int64_t context = 0;              // KV-cache positions: EngineOptions::max_context, capped by the model's
  int decode_chunk = 0;             // positions per split of the split-K decode attention
  int64_t splits = 0;               // splits covering the context
  WorkspaceShape decode_workspace;  // the one workspace allocated up front
  int64_t weight_bytes = 0;
  int64_t kv_layer_bytes = 0;  // one layer's cache
  int64_t kv_bytes = 0;
  int64_t workspace_bytes = 0;  // the decode workspace, and with fp8 weights the prefill dequantisation tile
  int64_t total() const { return weight_bytes + kv_bytes + workspace_bytes; }
};

// Bytes one position takes in each layer's bf16 KV cache: MLA keeps the compressed latent and the
// roped key part, GQA the keys and values. `moescope bench` counts the same bytes in its floor.
int64_t kv_cache_bytes_per_position(const ModelConfig& config);

DeviceMemoryBudget plan_device_memory(const ModelConfig& config, const EngineOptions& options);

// ResourceError "model does not fit on DEVICE: needs N bytes (X GiB: weights .., KV cache .. for P
// positions, workspace ..) but M bytes (Y GiB) are free[ under the memory cap]" (sizes as size_text) when the
// budget exceeds `available_bytes`.
void require_fits(const DeviceMemoryBudget& budget, int64_t available_bytes, bool under_cap,
                  const std::string& device);

// "1.50 GiB", "980.8 KiB", "512 bytes": sizes in the engine's messages.
std::string size_text(int64_t bytes);

}  // namespace moescope::gpu
