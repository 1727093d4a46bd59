// Typed, validated reads of config.json keys shared by the architecture files.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/model_config.h"

namespace moescope {

// A positive integer key, bounded by `max`; missing -> InputError (or `fallback` when given >= 0).
int64_t read_dim(const nlohmann::json& json, const char* key, const std::string& file_label, int64_t fallback = -1,
                 int64_t max = int64_t{1} << 31);
// A non-negative integer key (0 allowed), or `fallback` when missing or null.
int64_t read_count(const nlohmann::json& json, const char* key, const std::string& file_label, int64_t fallback);
double read_number(const nlohmann::json& json, const char* key, const std::string& file_label, double fallback);
bool read_bool(const nlohmann::json& json, const char* key, const std::string& file_label, bool fallback);
std::string read_string(const nlohmann::json& json, const char* key, const std::string& file_label,
                        const std::string& fallback);

// DeepSeek V2/V3 and DeepSeek-MoE share their MoE keys; this reads them.
void read_deepseek_moe_keys(const nlohmann::json& json, ModelConfig& config, const std::string& file_label);
// DeepSeek V2/V3 multi-head latent attention keys.
void read_mla_keys(const nlohmann::json& json, ModelConfig& config, const std::string& file_label);

}  // namespace moescope
