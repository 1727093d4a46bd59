#include "core/tokenizer/tokenizer_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "core/error.h"

namespace moescope {
namespace {

constexpr size_t kMaxConfigBytes = 64u << 20;

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

std::string read_file_bytes(const std::filesystem::path& file, size_t max_bytes) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (error) fail_input(file.string() + ": cannot read: " + error.message());
  if (size > max_bytes) {
    fail_input(file.string() + ": file is " + std::to_string(size) + " bytes, more than the " +
               std::to_string(max_bytes) + " accepted");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_input(file.string() + ": cannot open for reading");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size) fail_input(file.string() + ": read failed");
  return bytes;
}

TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir) {
  const auto file = dir / "tokenizer_config.json";
  TokenizerConfig config;
  if (!std::filesystem::is_regular_file(file)) return config;
  const std::string where = file.string();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file_bytes(file, kMaxConfigBytes));
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
