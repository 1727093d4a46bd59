// Typed reads of tokenizer.json fields that turn a missing or mistyped field into one InputError
// naming the file and the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace moescope::json_fields {

// Nesting of Sequence normalizers / pre-tokenizers / decoders is bounded so hostile files cannot
// recurse without limit.
constexpr int kMaxSequenceDepth = 8;

inline const nlohmann::json& required(const nlohmann::json& object, const char* key,
                                      const std::string& where) {
  if (!object.is_object()) fail_input(where + " must be a JSON object");
  const auto it = object.find(key);
  if (it == object.end()) fail_input(where + " has no \"" + key + "\"");
  return *it;
}

inline std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = required(object, key, where);
  if (!value.is_string()) fail_input(where + "." + key + " must be a string");
  return value.get<std::string>();
}

inline bool bool_field(const nlohmann::json& object, const char* key, bool fallback,
                       const std::string& where) {
  if (!object.is_object()) fail_input(where + " must be a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail_input(where + "." + key + " must be true or false");
  return it->get<bool>();
}

inline int64_t int_field(const nlohmann::json& object, const char* key, int64_t fallback, int64_t min,
                         int64_t max, const std::string& where) {
  if (!object.is_object()) fail_input(where + " must be a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
    fail_input(where + "." + key + " must be an integer in [" + std::to_string(min) + ", " +
               std::to_string(max) + "]");
  }
  return it->get<int64_t>();
}

// The "type" of a component object.
inline std::string type_of(const nlohmann::json& object, const std::string& where) {
  return string_field(object, "type", where);
}

}  // namespace moescope::json_fields
