#include "core/model_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/arch/config_keys.h"
#include "core/arch/registry.h"
#include "core/error.h"
#include "core/input_file.h"

namespace moescope {

namespace {

// YaRN's attention-magnitude correction (DeepSeek's yarn_get_mscale).
double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

RopeScaling read_rope_scaling(const nlohmann::json& json, const ModelConfig& c, const std::string& file_label) {
  RopeScaling r;
  if (!json.contains("rope_scaling") || json["rope_scaling"].is_null()) return r;
  const auto& rs = json["rope_scaling"];
  if (!rs.is_object()) fail_input(file_label + ": \"rope_scaling\" must be an object or null");
  std::string type = read_string(rs, "type", file_label, read_string(rs, "rope_type", file_label, "default"));
  if (type == "default") return r;
  if (type == "linear") {
    r.type = RopeType::linear;
    r.factor = read_number(rs, "factor", file_label, 1.0);
  } else if (type == "yarn") {
    r.type = RopeType::yarn;
    r.factor = read_number(rs, "factor", file_label, 1.0);
    r.original_max_position_embeddings =
        read_count(rs, "original_max_position_embeddings", file_label, c.max_position_embeddings);
    r.beta_fast = read_number(rs, "beta_fast", file_label, 32.0);
    r.beta_slow = read_number(rs, "beta_slow", file_label, 1.0);
    r.mscale = read_number(rs, "mscale", file_label, 1.0);
    r.mscale_all_dim = read_number(rs, "mscale_all_dim", file_label, 0.0);
  } else {
    fail_input(file_label + ": rope_scaling type \"" + type + "\" is not supported (expected default, linear or yarn)");
  }
  if (r.factor <= 0) fail_input(file_label + ": rope_scaling factor must be positive");
  return r;
}

}  // namespace

std::vector<int32_t> ModelConfig::moe_layers() const {
  std::vector<int32_t> out;
  for (int64_t l = 0; l < num_layers; ++l)
    if (layer_is_moe[l]) out.push_back(static_cast<int32_t>(l));
  return out;
}

int64_t ModelConfig::qk_head_dim() const { return use_mla ? qk_nope_head_dim + qk_rope_head_dim : head_dim; }
int64_t ModelConfig::value_head_dim() const { return use_mla ? v_head_dim : head_dim; }

double ModelConfig::attention_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (use_mla && rope_scaling.type == RopeType::yarn && rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

std::string family_name(Family family) { return arch_for(family).model_type; }

ModelConfig parse_model_config(const std::string& json_text, const std::string& file_label) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail_input(file_label + ": not valid JSON: " + e.what());
  }
  if (!json.is_object()) fail_input(file_label + ": expected a JSON object");
  ModelConfig c;
  c.model_type = read_string(json, "model_type", file_label, "");
  const ArchEntry* arch = find_arch(c.model_type);
  if (!arch)
    fail_input(file_label + ": unknown model_type \"" + c.model_type + "\" (supported: " + supported_model_types() + ")");
  c.family = arch->family;

  c.vocab_size = read_dim(json, "vocab_size", file_label, -1, int64_t{1} << 24);
  c.hidden_size = read_dim(json, "hidden_size", file_label, -1, 1 << 16);
  c.num_layers = read_dim(json, "num_hidden_layers", file_label, -1, 1024);
  c.num_heads = read_dim(json, "num_attention_heads", file_label, -1, 1024);
  c.num_kv_heads = read_dim(json, "num_key_value_heads", file_label, c.num_heads, c.num_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    fail_input(file_label + ": num_attention_heads " + std::to_string(c.num_heads) +
               " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  c.head_dim = read_dim(json, "head_dim", file_label, c.hidden_size / c.num_heads, 4096);
  c.max_position_embeddings = read_dim(json, "max_position_embeddings", file_label, 4096, int64_t{1} << 24);
  c.rms_norm_eps = read_number(json, "rms_norm_eps", file_label, 1e-6);
  c.rope_theta = read_number(json, "rope_theta", file_label, 10000.0);
  if (c.rope_theta <= 0) fail_input(file_label + ": rope_theta must be positive");
  c.tie_word_embeddings = read_bool(json, "tie_word_embeddings", file_label, false);
  auto token_id = [&](const char* key) -> int32_t {
    if (!json.contains(key) || !json[key].is_number_integer()) return -1;  // absent, null or a list
    const int64_t id = json[key].get<int64_t>();
    return id >= 0 && id < c.vocab_size ? static_cast<int32_t>(id) : -1;
  };
  c.bos_token_id = token_id("bos_token_id");
  c.eos_token_id = token_id("eos_token_id");
  const std::string act = read_string(json, "hidden_act", file_label, "silu");
  if (act != "silu") fail_input(file_label + ": hidden_act \"" + act + "\" is not supported (expected silu)");

  arch->parse(json, c, file_label);
  c.rope_scaling = read_rope_scaling(json, c, file_label);
  if (!c.use_mla && c.head_dim % 2 != 0) fail_input(file_label + ": head_dim must be even for rotary embeddings");
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  std::error_code error;  // a link that leads nowhere is present: read_regular_file says why it fails
  if (!std::filesystem::exists(std::filesystem::symlink_status(config_json, error)))
    fail_input(config_json.string() + ": cannot read (a checkpoint folder needs config.json)");
  return parse_model_config(read_regular_file(config_json, kMaxConfigJsonBytes), config_json.string());
}

}  // namespace moescope
