#include "core/tokenizer/hf_normalizer.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/onig_regex.h"
#include "core/tokenizer/text_pattern.h"

namespace moescope {
namespace {

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void apply(std::string& text) const override {
    for (const auto& step : steps_) step->apply(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Prepends to non-empty text only (SentencePiece's dummy prefix "▁").
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void apply(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void apply(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  TextPattern pattern_;
  std::string content_;
};

// Unicode normalization forms through ICU (UTF-8 -> UTF-16 -> normalized -> UTF-8).
class UnicodeFormNormalizer final : public Normalizer {
 public:
  UnicodeFormNormalizer(const UNormalizer2* form, std::string where)
      : form_(form), where_(std::move(where)) {}
  void apply(std::string& text) const override {
    if (text.empty()) return;
    UErrorCode status = U_ZERO_ERROR;
    int32_t utf16_length = 0;
    u_strFromUTF8(nullptr, 0, &utf16_length, text.data(), static_cast<int32_t>(text.size()), &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
    std::vector<UChar> utf16(static_cast<size_t>(utf16_length) + 1);
    status = U_ZERO_ERROR;
    u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &utf16_length, text.data(),
                  static_cast<int32_t>(text.size()), &status);
    if (U_FAILURE(status)) fail(status);
    status = U_ZERO_ERROR;
    const int32_t normalized_length =
        unorm2_normalize(form_, utf16.data(), utf16_length, nullptr, 0, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
    std::vector<UChar> normalized(static_cast<size_t>(normalized_length) + 1);
    status = U_ZERO_ERROR;
    unorm2_normalize(form_, utf16.data(), utf16_length, normalized.data(),
                     static_cast<int32_t>(normalized.size()), &status);
    if (U_FAILURE(status)) fail(status);
    int32_t utf8_length = 0;
    status = U_ZERO_ERROR;
    u_strToUTF8(nullptr, 0, &utf8_length, normalized.data(), normalized_length, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) fail(status);
    std::string out(static_cast<size_t>(utf8_length), '\0');
    status = U_ZERO_ERROR;
    u_strToUTF8(out.data(), utf8_length, &utf8_length, normalized.data(), normalized_length, &status);
    if (U_FAILURE(status) && status != U_STRING_NOT_TERMINATED_WARNING) fail(status);
    text = std::move(out);
  }

 private:
  [[noreturn]] void fail(UErrorCode status) const {
    fail_input(where_ + ": Unicode normalization failed: " + u_errorName(status));
  }
  const UNormalizer2* form_;
  std::string where_;
};

const UNormalizer2* unicode_form(const std::string& type, const std::string& where) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* form = nullptr;
  if (type == "NFC") form = unorm2_getNFCInstance(&status);
  if (type == "NFD") form = unorm2_getNFDInstance(&status);
  if (type == "NFKC") form = unorm2_getNFKCInstance(&status);
  if (type == "NFKD") form = unorm2_getNFKDInstance(&status);
  if (U_FAILURE(status) || !form)
    fail_input(where + ": ICU has no " + type + " normalizer: " + u_errorName(status));
  return form;
}

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& json, const std::string& where,
                                             int depth) {
  if (json.is_null()) return nullptr;
  if (depth > json_fields::kMaxSequenceDepth) fail_input(where + ": normalizers nested too deeply");
  const std::string type = json_fields::type_of(json, where);
  if (type == "Sequence") {
    const auto& list = json_fields::required(json, "normalizers", where);
    if (!list.is_array()) fail_input(where + ".normalizers must be an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_where = where + ".normalizers[" + std::to_string(i) + "]";
      if (list[i].is_null()) fail_input(item_where + " must be a normalizer object");
      steps.push_back(parse_normalizer(list[i], item_where, depth + 1));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(json_fields::string_field(json, "prepend", where));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(
        TextPattern::from_json(json_fields::required(json, "pattern", where), where),
        json_fields::string_field(json, "content", where));
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    return std::make_unique<UnicodeFormNormalizer>(unicode_form(type, where), where);
  }
  fail_input(where + ": unsupported normalizer type '" + type +
             "' (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD)");
}

}  // namespace moescope
