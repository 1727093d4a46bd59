#include "core/tokenizer/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"

namespace moescope {
namespace {

// A token is written either as its text or as {"content": text, ...} (an AddedToken).
std::optional<std::string> token_text(const nlohmann::json& config, const char* key,
                                      const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  fail_input(where + ": " + key + " must be a string, an object with \"content\", or null");
}

std::optional<bool> flag(const nlohmann::json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail_input(where + ": " + key + " must be true or false");
  return it->get<bool>();
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir) {
  const auto file = dir / "tokenizer_config.json";
  TokenizerConfig config;
  // Absent is fine (an empty config); present but a FIFO or device is refused, not skipped.
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return config;
  const std::string where = file.string();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_regular_file(file, kMaxConfigJsonBytes));
  } catch (const nlohmann::json::exception& e) {
    fail_input(where + ": not valid JSON: " + e.what());
  }
  if (!json.is_object()) fail_input(where + ": expected a JSON object");
  config.bos_token = token_text(json, "bos_token", where);
  config.eos_token = token_text(json, "eos_token", where);
  config.add_bos_token = flag(json, "add_bos_token", where);
  config.add_eos_token = flag(json, "add_eos_token", where);
  return config;
}

}  // namespace moescope
