// Reading a capture file of JSON records: JSON Lines (one record per line, read one line at a time
// so a 100,000-request capture never sits in memory whole) or one JSON document holding a record
// or an array of records. Shared by the SGLang and vLLM importers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace moescope::sessions {

// Calls `each(record, label)` per record; `label` names it in errors ("file:12" for line 12, or
// "file[3]"). Bad JSON is an InputError naming the line.
void for_each_json_record(const std::filesystem::path& file,
                          const std::function<void(const nlohmann::json& record, const std::string& label)>& each);

// A list of integers at `key` (an array of numbers that fit int32), or an InputError naming the
// record and the field. `required` false: a missing key or null gives an empty list.
std::vector<int32_t> json_int32_list(const nlohmann::json& object, const char* key, const std::string& label,
                                     bool required);
std::string json_text(const nlohmann::json& object, const char* key, const std::string& label);
// An integer count (>= 0) at `key`; -1 when absent.
int64_t json_count(const nlohmann::json& object, const char* key, const std::string& label);

}  // namespace moescope::sessions
