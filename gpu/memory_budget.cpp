#include "gpu/memory_budget.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "gpu/device_model.h"
#include "gpu/kernels.h"

namespace moescope::gpu {
std::string size_text(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  char buf[64];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  else if (bytes >= (int64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  return buf;
}

int64_t kv_cache_bytes_per_position(const ModelConfig& c) {
  return c.use_mla ? (c.kv_lora_rank + c.qk_rope_head_dim) * 2 : 2 * c.num_kv_heads * c.head_dim * 2;
}

DeviceMemoryBudget plan_device_memory(const ModelConfig& c, const EngineOptions& options) {
  DeviceMemoryBudget budget;
  budget.context = std::min<int64_t>(
      options.max_context > 0 ? options.max_context : c.max_position_embeddings, c.max_position_embeddings);
  budget.decode_chunk = static_cast<int>(std::max<int64_t>(32, (budget.context + 31) / 32));
  budget.splits = (budget.context + budget.decode_chunk - 1) / budget.decode_chunk;
  budget.weight_bytes = static_cast<int64_t>(device_weight_bytes(c, options.fp8_weights));
  budget.kv_layer_bytes = kv_cache_bytes_per_position(c) * budget.context;
  budget.kv_bytes = budget.kv_layer_bytes * c.num_layers;
  budget.decode_workspace =
      WorkspaceShape{kMaxDecodeTokens, 0, 0, budget.splits, options.ep_degree > 1 ? options.ep_degree : 0};
  budget.workspace_bytes = static_cast<int64_t>(workspace_bytes(c, budget.decode_workspace));
  if (options.fp8_weights) budget.workspace_bytes += kFp8TileElements * static_cast<int64_t>(sizeof(bf16));
  return budget;
}

void require_fits(const DeviceMemoryBudget& budget, int64_t available_bytes, bool under_cap,
                  const std::string& device) {
  const int64_t needed = budget.total();
  if (needed <= available_bytes) return;
  throw ResourceError("model does not fit on " + device + ": needs " + std::to_string(needed) + " bytes (" +
                      size_text(needed) + ": weights " + size_text(budget.weight_bytes) + ", KV cache " +
                      size_text(budget.kv_bytes) + " for " + std::to_string(budget.context) +
                      " positions, workspace " + size_text(budget.workspace_bytes) + ") but " +
                      std::to_string(available_bytes) + " bytes (" + size_text(available_bytes) +
                      ") are free" + (under_cap ? " under the memory cap" : ""));
}

}  // namespace moescope::gpu
