#include "ui/model_card.h"

#include <cstdio>

#include "core/model.h"
#include "core/safetensors.h"

namespace moescope::ui {

CheckpointCard describe_checkpoint(const std::filesystem::path& dir) {
  auto model = load_model(dir);
  const ModelConfig& c = model->config;
  CheckpointCard out;
  out.card.name = dir.filename().string().empty() ? dir.parent_path().filename().string() : dir.filename().string();
  out.card.family = family_name(c.family);
  out.card.n_layers = c.num_layers;
  out.card.n_moe_layers = static_cast<int64_t>(c.moe_layers().size());
  out.card.n_experts = c.n_routed_experts;
  out.card.n_shared_experts = c.n_shared_experts;
  out.card.top_k = c.top_k;
  out.card.hidden_size = c.hidden_size;
  out.card.vocab_size = c.vocab_size;
  out.card.total_params = model->parameter_count;
  out.card.active_params = model->active_parameter_count;
  for (const auto& [name, view] : model->checkpoint.tensors) {
    out.weight_bytes += view.nbytes();
    if (out.card.dtype.empty() && name.find("layers.0.") != std::string::npos) out.card.dtype = std::string(dtype_name(view.dtype()));
  }
  const int64_t per_layer = c.use_mla ? (c.kv_lora_rank + c.qk_rope_head_dim)
                                      : 2 * c.num_kv_heads * c.qk_head_dim();
  out.kv_bytes_per_token = per_layer * c.num_layers * 4;
  return out;
}

std::string format_bytes(double bytes) {
  char buf[32];
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

std::string format_count(double count) {
  char buf[32];
  if (count >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fB", count / 1e9);
  } else if (count >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", count / 1e6);
  } else if (count >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fK", count / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", count);
  }
  return buf;
}

}  // namespace moescope::ui
