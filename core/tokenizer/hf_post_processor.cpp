#include "core/tokenizer/hf_post_processor.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/json_fields.h"

namespace moescope {
namespace {

// One item of a template: special-token ids, or the place of the sequence.
struct TemplatePart {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};

class TemplateProcessor final : public PostProcessor {
 public:
  explicit TemplateProcessor(std::vector<TemplatePart> parts) : parts_(std::move(parts)) {}
  void add_special(std::vector<int32_t>& ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + parts_.size());
    for (const TemplatePart& part : parts_) {
      if (part.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), part.ids.begin(), part.ids.end());
      }
    }
    ids = std::move(out);
  }
  std::optional<int32_t> leading_special() const override {
    if (parts_.empty() || parts_[0].is_sequence || parts_[0].ids.empty()) return std::nullopt;
    return parts_[0].ids[0];
  }
  std::optional<int32_t> largest_special() const override {
    std::optional<int32_t> largest;
    for (const TemplatePart& part : parts_) {
      for (int32_t id : part.ids) largest = std::max(largest.value_or(id), id);
    }
    return largest;
  }

 private:
  std::vector<TemplatePart> parts_;
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void add_special(std::vector<int32_t>& ids) const override {
    for (const auto& step : steps_) step->add_special(ids);
  }
  std::optional<int32_t> leading_special() const override {
    for (const auto& step : steps_) {
      if (auto id = step->leading_special()) return id;
    }
    return std::nullopt;
  }
  std::optional<int32_t> largest_special() const override {
    std::optional<int32_t> largest;
    for (const auto& step : steps_) {
      if (auto id = step->largest_special()) largest = std::max(largest.value_or(*id), *id);
    }
    return largest;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

class NoSpecialTokens final : public PostProcessor {
 public:
  void add_special(std::vector<int32_t>&) const override {}
};

int32_t token_id(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxTokenId) {
    fail_input(where + " must be a token id in [0, " + std::to_string(kMaxTokenId) + "]");
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

std::unique_ptr<PostProcessor> parse_template(const nlohmann::json& json, const std::string& where) {
  // special_tokens: name -> {"ids": [...]}.
  std::map<std::string, std::vector<int32_t>> specials;
  if (json.contains("special_tokens")) {
    const auto& map = json["special_tokens"];
    if (!map.is_object()) fail_input(where + ".special_tokens must be an object");
    for (const auto& [name, entry] : map.items()) {
      const std::string entry_where = where + ".special_tokens[\"" + name + "\"]";
      const auto& ids = json_fields::required(entry, "ids", entry_where);
      if (!ids.is_array()) fail_input(entry_where + ".ids must be an array");
      for (const auto& id : ids) specials[name].push_back(token_id(id, entry_where + ".ids[]"));
    }
  }
  const auto special_ids = [&](const std::string& name) {
    const auto it = specials.find(name);
    if (it == specials.end())
      fail_input(where + ": template uses '" + name + "', which special_tokens does not define");
    return it->second;
  };

  const auto& single = json_fields::required(json, "single", where);
  std::vector<TemplatePart> parts;
  if (single.is_string()) {
    // The string form: "<s> $A" (a piece may carry ":type_id", which does not change ids).
    const std::string text = single.get<std::string>();
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t space = text.find(' ', pos);
      const std::string word = text.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
      pos = space == std::string::npos ? text.size() : space + 1;
      if (word.empty()) continue;
      const std::string name = word.substr(0, word.find(':'));
      if (name == "$" || name == "$A" || name == "$0") {
        parts.push_back({true, {}});
      } else if (name.starts_with("$")) {
        fail_input(where + ".single: a single-sequence template may only use $A, not '" + name + "'");
      } else {
        parts.push_back({false, special_ids(name)});
      }
    }
  } else if (single.is_array()) {
    for (const auto& item : single) {
      if (item.is_object() && item.contains("Sequence")) {
        parts.push_back({true, {}});
      } else if (item.is_object() && item.contains("SpecialToken")) {
        parts.push_back(
            {false, special_ids(json_fields::string_field(item["SpecialToken"], "id", where + ".single[]"))});
      } else {
        fail_input(where + ".single items must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
  } else {
    fail_input(where + ".single must be an array or a string");
  }
  return std::make_unique<TemplateProcessor>(std::move(parts));
}

// Bert and Roberta: "cls": ["<s>", 0], "sep": ["</s>", 2] around the sequence.
std::unique_ptr<PostProcessor> parse_cls_sep(const nlohmann::json& json, const std::string& where) {
  const auto id_of = [&](const char* key) {
    const auto& pair = json_fields::required(json, key, where);
    if (!pair.is_array() || pair.size() != 2) fail_input(where + "." + key + " must be [token, id]");
    return token_id(pair[1], where + "." + key);
  };
  std::vector<TemplatePart> parts{{false, {id_of("cls")}}, {true, {}}, {false, {id_of("sep")}}};
  return std::make_unique<TemplateProcessor>(std::move(parts));
}

}  // namespace

std::unique_ptr<PostProcessor> parse_post_processor(const nlohmann::json& json, const std::string& where,
                                                    int depth) {
  if (json.is_null()) return nullptr;
  if (depth > json_fields::kMaxSequenceDepth) fail_input(where + ": post-processors nested too deeply");
  const std::string type = json_fields::type_of(json, where);
  if (type == "TemplateProcessing") return parse_template(json, where);
  if (type == "BertProcessing" || type == "RobertaProcessing") return parse_cls_sep(json, where);
  if (type == "ByteLevel") return std::make_unique<NoSpecialTokens>();  // offsets only
  if (type == "Sequence") {
    const auto& list = json_fields::required(json, "processors", where);
    if (!list.is_array()) fail_input(where + ".processors must be an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_where = where + ".processors[" + std::to_string(i) + "]";
      if (list[i].is_null()) fail_input(item_where + " must be a post-processor object");
      steps.push_back(parse_post_processor(list[i], item_where, depth + 1));
    }
    return std::make_unique<SequenceProcessor>(std::move(steps));
  }
  fail_input(where + ": unsupported post-processor type '" + type +
             "' (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)");
}

}  // namespace moescope
