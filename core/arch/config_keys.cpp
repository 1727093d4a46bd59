#include "core/arch/config_keys.h"

#include <cmath>

#include "core/error.h"

namespace moescope {

namespace {

[[noreturn]] void bad_key(const std::string& file_label, const char* key, const std::string& expected,
                          const nlohmann::json& value) {
  fail_input(file_label + ": \"" + key + "\" is " + value.dump() + ", expected " + expected);
}

}  // namespace

int64_t read_dim(const nlohmann::json& json, const char* key, const std::string& file_label, int64_t fallback,
                 int64_t max) {
  if (!json.contains(key) || json[key].is_null()) {
    if (fallback >= 0) return fallback;
    fail_input(file_label + ": missing \"" + key + "\"");
  }
  const auto& value = json[key];
  if (!value.is_number_integer()) bad_key(file_label, key, "a positive integer", value);
  const int64_t v = value.get<int64_t>();
  if (v <= 0 || v > max) bad_key(file_label, key, "a positive integer up to " + std::to_string(max), value);
  return v;
}

int64_t read_count(const nlohmann::json& json, const char* key, const std::string& file_label, int64_t fallback) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  const auto& value = json[key];
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > (int64_t{1} << 31))
    bad_key(file_label, key, "a non-negative integer", value);
  return value.get<int64_t>();
}

double read_number(const nlohmann::json& json, const char* key, const std::string& file_label, double fallback) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  const auto& value = json[key];
  if (!value.is_number()) bad_key(file_label, key, "a number", value);
  const double v = value.get<double>();
  if (!std::isfinite(v)) bad_key(file_label, key, "a finite number", value);
  return v;
}

bool read_bool(const nlohmann::json& json, const char* key, const std::string& file_label, bool fallback) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_boolean()) bad_key(file_label, key, "true or false", json[key]);
  return json[key].get<bool>();
}

std::string read_string(const nlohmann::json& json, const char* key, const std::string& file_label,
                        const std::string& fallback) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_string()) bad_key(file_label, key, "a string", json[key]);
  return json[key].get<std::string>();
}

void read_deepseek_moe_keys(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  c.intermediate_size = read_dim(json, "intermediate_size", file_label);
  c.moe_intermediate_size = read_dim(json, "moe_intermediate_size", file_label);
  c.n_routed_experts = read_dim(json, "n_routed_experts", file_label, -1, 1 << 16);
  c.n_shared_experts = read_count(json, "n_shared_experts", file_label, 0);
  c.top_k = read_dim(json, "num_experts_per_tok", file_label, -1, c.n_routed_experts);
  c.norm_topk_prob = read_bool(json, "norm_topk_prob", file_label, false);
  c.routed_scaling_factor = read_number(json, "routed_scaling_factor", file_label, 1.0);
  const std::string scoring = read_string(json, "scoring_func", file_label, "softmax");
  if (scoring == "softmax") c.scoring = ScoringFunc::softmax;
  else if (scoring == "sigmoid") c.scoring = ScoringFunc::sigmoid;
  else fail_input(file_label + ": scoring_func \"" + scoring + "\" is not supported (expected softmax or sigmoid)");
  const std::string method = read_string(json, "topk_method", file_label, "greedy");
  if (method == "greedy") c.topk_method = TopkMethod::greedy;
  else if (method == "group_limited_greedy") c.topk_method = TopkMethod::group_limited_greedy;
  else if (method == "noaux_tc") c.topk_method = TopkMethod::noaux_tc;
  else fail_input(file_label + ": topk_method \"" + method +
                  "\" is not supported (expected greedy, group_limited_greedy or noaux_tc)");
  c.n_group = read_dim(json, "n_group", file_label, 1, c.n_routed_experts);
  c.topk_group = read_dim(json, "topk_group", file_label, 1, c.n_group);
  if (c.n_routed_experts % c.n_group != 0)
    fail_input(file_label + ": n_routed_experts " + std::to_string(c.n_routed_experts) +
               " is not divisible by n_group " + std::to_string(c.n_group));
  if (c.topk_method == TopkMethod::noaux_tc && c.n_routed_experts / c.n_group < 2)
    fail_input(file_label + ": noaux_tc routing needs at least 2 experts per group");
  const int64_t first_dense = read_count(json, "first_k_dense_replace", file_label, 0);
  const int64_t freq = read_dim(json, "moe_layer_freq", file_label, 1);
  c.layer_is_moe.assign(static_cast<size_t>(c.num_layers), false);
  for (int64_t l = 0; l < c.num_layers; ++l) c.layer_is_moe[l] = l >= first_dense && l % freq == 0;
}

void read_mla_keys(const nlohmann::json& json, ModelConfig& c, const std::string& file_label) {
  c.use_mla = true;
  c.q_lora_rank = read_count(json, "q_lora_rank", file_label, 0);
  c.kv_lora_rank = read_dim(json, "kv_lora_rank", file_label);
  c.qk_nope_head_dim = read_dim(json, "qk_nope_head_dim", file_label);
  c.qk_rope_head_dim = read_dim(json, "qk_rope_head_dim", file_label);
  c.v_head_dim = read_dim(json, "v_head_dim", file_label);
  if (c.qk_rope_head_dim % 2 != 0) fail_input(file_label + ": qk_rope_head_dim must be even");
  c.num_kv_heads = c.num_heads;  // MLA: every head reads the shared latent
}

}  // namespace moescope
