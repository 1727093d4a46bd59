#include "core/tokenizer/hf_decoder.h"

#include <nlohmann/json.hpp>

#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/byte_piece.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/text_pattern.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
    return tokens;
  }
  bool is_byte_level() const override {
    for (const auto& step : steps_) {
      if (step->is_byte_level()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(TextPattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) token = pattern_.replace_all(token, content_);
    return tokens;
  }

 private:
  TextPattern pattern_;
  std::string content_;
};

// Runs of "<0xNN>" pieces become the text of their bytes; an ill-formed run becomes one U+FFFD
// per byte, as `tokenizers` does.
class ByteFallbackDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    const auto flush = [&] {
      if (bytes.empty()) return;
      if (utf8::is_valid(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
    };
    for (std::string& token : tokens) {
      if (const auto byte = parse_byte_piece(token)) {
        bytes += static_cast<char>(*byte);
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    return out;
  }
};

class FuseDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    return {joined};
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& token : tokens) {
      size_t begin = 0;
      for (size_t i = 0; i < start_ && begin + content_.size() <= token.size() &&
                         token.compare(begin, content_.size(), content_) == 0;
           ++i) {
        begin += content_.size();
      }
      size_t end = token.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i) {
        end -= content_.size();
      }
      token = token.substr(begin, end - begin);
    }
    return tokens;
  }

 private:
  std::string content_;  // one character, UTF-8
  size_t start_, stop_;
};

// All pieces' byte-level characters back to bytes, then lossy UTF-8, in one string. A piece with
// a character outside the byte-level alphabet (an added token) contributes its own bytes.
class ByteLevelDecoder final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      if (const auto decoded = byte_level::decode(token)) {
        bytes += *decoded;
      } else {
        bytes += token;
      }
    }
    return {utf8::lossy(bytes)};
  }
  bool is_byte_level() const override { return true; }
};

// The replacement character becomes a space, except in the first token, where it is dropped
// (it was the prefix the pre-tokenizer added) unless the prepend scheme is "never".
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool drop_in_first)
      : replacement_(std::move(replacement)), drop_in_first_(drop_in_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    const TextPattern marker = TextPattern::literal(replacement_);
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = marker.replace_all(tokens[i], (i == 0 && drop_in_first_) ? "" : " ");
    }
    return tokens;
  }

 private:
  std::string replacement_;
  bool drop_in_first_;
};

std::string one_character(const nlohmann::json& json, const char* key, const std::string& where) {
  const std::string text = json_fields::string_field(json, key, where);
  if (text.empty() || utf8::sequence_length(text, 0) != text.size()) {
    fail_input(where + "." + key + " must be exactly one character");
  }
  return text;
}

}  // namespace

std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& json, const std::string& where, int depth) {
  if (json.is_null()) return nullptr;
  if (depth > json_fields::kMaxSequenceDepth) fail_input(where + ": decoders nested too deeply");
  const std::string type = json_fields::type_of(json, where);
  if (type == "Sequence") {
    const auto& list = json_fields::required(json, "decoders", where);
    if (!list.is_array()) fail_input(where + ".decoders must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_where = where + ".decoders[" + std::to_string(i) + "]";
      if (list[i].is_null()) fail_input(item_where + " must be a decoder object");
      steps.push_back(parse_decoder(list[i], item_where, depth + 1));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(
        TextPattern::from_json(json_fields::required(json, "pattern", where), where),
        json_fields::string_field(json, "content", where));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    constexpr int64_t kMaxStrip = 1 << 20;
    return std::make_unique<StripDecoder>(
        one_character(json, "content", where),
        static_cast<size_t>(json_fields::int_field(json, "start", 0, 0, kMaxStrip, where)),
        static_cast<size_t>(json_fields::int_field(json, "stop", 0, 0, kMaxStrip, where)));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    bool drop_in_first = true;
    if (json.contains("prepend_scheme")) {
      const std::string scheme = json_fields::string_field(json, "prepend_scheme", where);
      if (scheme != "always" && scheme != "first" && scheme != "never") {
        fail_input(where + ".prepend_scheme must be always, first or never, not '" + scheme + "'");
      }
      drop_in_first = scheme != "never";
    } else {
      drop_in_first = json_fields::bool_field(json, "add_prefix_space", true, where);
    }
    return std::make_unique<MetaspaceDecoder>(one_character(json, "replacement", where), drop_in_first);
  }
  fail_input(where + ": unsupported decoder type '" + type +
             "' (supported: Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace)");
}

}  // namespace moescope
