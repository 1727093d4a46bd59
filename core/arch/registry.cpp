#include "core/arch/registry.h"

namespace moescope {

const std::vector<ArchEntry>& arch_registry() {
  static const std::vector<ArchEntry> entries = {
      deepseek_v1_arch(), deepseek_v2_arch(), deepseek_v3_arch(), mixtral_arch(), qwen3_moe_arch(),
  };
  return entries;
}

const ArchEntry* find_arch(const std::string& model_type) {
  for (const auto& entry : arch_registry())
    if (model_type == entry.model_type) return &entry;
  return nullptr;
}

const ArchEntry& arch_for(Family family) {
  for (const auto& entry : arch_registry())
    if (entry.family == family) return entry;
  throw std::logic_error("arch_for: family without a registry entry");
}

std::string supported_model_types() {
  std::string out;
  for (const auto& entry : arch_registry()) out += (out.empty() ? "" : ", ") + std::string(entry.model_type);
  return out;
}

}  // namespace moescope
