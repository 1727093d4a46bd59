// The table of supported architectures: one entry per config.json `model_type`, each defined in its
// own file (core/arch/<family>.cpp). An entry reads its family's config keys and names its tensors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model_config.h"

namespace moescope {

// How a family names its feed-forward tensors. Attention and norm names are common to all HF
// families ("model.layers.L.self_attn.q_proj.weight", ...).
struct TensorNaming {
  const char* moe_module;   // "block_sparse_moe" (Mixtral) or "mlp"
  const char* expert_gate;  // "w1" or "gate_proj"
  const char* expert_up;    // "w3" or "up_proj"
  const char* expert_down;  // "w2" or "down_proj"
};

struct ArchEntry {
  const char* model_type;
  Family family;
  TensorNaming naming;
  // Reads the family's own keys into `config` (common keys are already read); throws InputError.
  void (*parse)(const nlohmann::json& json, ModelConfig& config, const std::string& file_label);
};

const std::vector<ArchEntry>& arch_registry();
const ArchEntry* find_arch(const std::string& model_type);
const ArchEntry& arch_for(Family family);
std::string supported_model_types();  // "deepseek, deepseek_v2, ..." for error messages

// Entries, one per file.
ArchEntry mixtral_arch();
ArchEntry qwen3_moe_arch();
ArchEntry deepseek_v1_arch();
ArchEntry deepseek_v2_arch();
ArchEntry deepseek_v3_arch();

}  // namespace moescope
