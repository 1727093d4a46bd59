#include "sessions/importers/json_records.h"

#include <fstream>
#include <limits>

#include "core/error.h"

namespace moescope::sessions {

void for_each_json_record(const std::filesystem::path& file,
                          const std::function<void(const nlohmann::json&, const std::string&)>& each) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_input(file.string() + ": cannot read the capture file");
  const bool lines = file.extension() == ".jsonl" || file.extension() == ".ndjson";
  auto parse = [&](const std::string& text, const std::string& label) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) fail_input(label + ": not valid JSON (a truncated or damaged record?)");
    return value;
  };
  if (lines) {
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string label = file.string() + ":" + std::to_string(number);
      nlohmann::json record = parse(line, label);
      if (!record.is_object()) fail_input(label + ": expected one JSON object per line");
      each(record, label);
    }
    if (in.bad()) fail_input(file.string() + ": read error");
    return;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json document = parse(text, file.string());
  if (document.is_object()) {
    each(document, file.string());
  } else if (document.is_array()) {
    for (size_t i = 0; i < document.size(); ++i) {
      const std::string label = file.string() + "[" + std::to_string(i) + "]";
      if (!document[i].is_object()) fail_input(label + ": expected a JSON object");
      each(document[i], label);
    }
  } else {
    fail_input(file.string() + ": expected a JSON object or an array of objects");
  }
}

std::vector<int32_t> json_int32_list(const nlohmann::json& object, const char* key, const std::string& label,
                                     bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) fail_input(label + ": field '" + key + "' is missing");
    return {};
  }
  if (!it->is_array()) fail_input(label + ": field '" + key + "' is not a list of integers");
  std::vector<int32_t> values;
  values.reserve(it->size());
  for (const auto& value : *it) {
    if (!value.is_number_integer() || value.get<int64_t>() < std::numeric_limits<int32_t>::min() ||
        value.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      fail_input(label + ": field '" + key + "' holds " + value.dump() + ", expected 32-bit integers");
    }
    values.push_back(static_cast<int32_t>(value.get<int64_t>()));
  }
  return values;
}

std::string json_text(const nlohmann::json& object, const char* key, const std::string& label) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  fail_input(label + ": field '" + key + "' is not text");
}

int64_t json_count(const nlohmann::json& object, const char* key, const std::string& label) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return -1;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    fail_input(label + ": field '" + key + "' is not a non-negative integer");
  return it->get<int64_t>();
}

}  // namespace moescope::sessions
