#include "core/tokenizer/hf_pre_tokenizer.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/text_pattern.h"
#include "core/tokenizer/utf8.h"

namespace moescope {

std::vector<TextRange> split_ranges(size_t text_size, const std::vector<std::pair<size_t, size_t>>& matches,
                                    SplitBehavior behavior, bool invert) {
  // The whole text as alternating (range, is_match) runs.
  struct Run {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Run> runs;
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (begin != previous) runs.push_back({previous, begin, false});
    runs.push_back({begin, end, true});
    previous = end;
  }
  if (previous != text_size) runs.push_back({previous, text_size, false});
  if (invert) {
    for (Run& run : runs) run.is_match = !run.is_match;
  }

  std::vector<TextRange> pieces;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Run& run : runs) {
        if (!run.is_match) pieces.push_back({run.begin, run.end});
      }
      break;
    case SplitBehavior::Isolated:
      for (const Run& run : runs) pieces.push_back({run.begin, run.end});
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Run& run : runs) {
        if (run.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = run.end;
        } else {
          pieces.push_back({run.begin, run.end});
        }
        previous_match = run.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().begin = it->begin;
        } else {
          pieces.push_back({it->begin, it->end});
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::Contiguous:
      for (const Run& run : runs) {
        if (run.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = run.end;
        } else {
          pieces.push_back({run.begin, run.end});
        }
        previous_match = run.is_match;
      }
      break;
  }
  std::erase_if(pieces, [](const TextRange& r) { return r.begin == r.end; });
  return pieces;
}

namespace {

void cut(std::vector<PreToken>& out, const PreToken& piece, const std::vector<TextRange>& ranges) {
  for (const TextRange& range : ranges) {
    out.push_back(
        {piece.text.substr(range.begin, range.end - range.begin), piece.at_text_start && range.begin == 0});
  }
}

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void apply(std::vector<PreToken>& pieces) const override {
    for (const auto& step : steps_) step->apply(pieces);
  }
  bool is_byte_level() const override {
    for (const auto& step : steps_) {
      if (step->is_byte_level()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void apply(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces.size());
    for (const PreToken& piece : pieces) {
      cut(out, piece, split_ranges(piece.text.size(), pattern_.find_all(piece.text), behavior_, invert_));
    }
    pieces = std::move(out);
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// GPT-2's own word pattern, used when ByteLevel has use_regex.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<CompiledRegex>(kGpt2Pattern, where);
  }
  void apply(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces.size());
    for (PreToken piece : pieces) {
      if (piece.text.empty()) continue;
      if (add_prefix_space_ && piece.text.front() != ' ') piece.text = " " + piece.text;
      if (regex_) {
        cut(out, piece,
            split_ranges(piece.text.size(), regex_->find_all(piece.text), SplitBehavior::Isolated, false));
      } else {
        out.push_back(std::move(piece));
      }
    }
    for (PreToken& piece : out) piece.text = byte_level::encode(piece.text);
    pieces = std::move(out);
  }
  bool is_byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<CompiledRegex> regex_;
};

// Digits apart from the rest: each digit alone (individual_digits, as DeepSeek-MoE) or runs of
// digits. "Digit" is Rust's char::is_numeric: general categories Nd, Nl and No.
class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void apply(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    out.reserve(pieces.size());
    for (const PreToken& piece : pieces) {
      std::vector<std::pair<size_t, size_t>> digits;
      for (size_t pos = 0; pos < piece.text.size();) {
        const size_t length = utf8::sequence_length(piece.text, pos);
        if (length == 0) {  // not reached with validated text; a stray byte is no digit
          ++pos;
          continue;
        }
        const auto type = u_charType(static_cast<UChar32>(utf8::decode_at(piece.text, pos, length)));
        if (type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER) {
          digits.emplace_back(pos, pos + length);
        }
        pos += length;
      }
      cut(out, piece,
          split_ranges(piece.text.size(), digits,
                       individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false));
    }
    pieces = std::move(out);
  }

 private:
  bool individual_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void apply(std::vector<PreToken>& pieces) const override {
    const TextPattern space = TextPattern::literal(" ");
    const TextPattern marker = TextPattern::literal(replacement_);
    std::vector<PreToken> out;
    out.reserve(pieces.size());
    for (PreToken piece : pieces) {
      if (piece.text.empty()) continue;
      piece.text = space.replace_all(piece.text, replacement_);
      const bool starts_with_marker = piece.text.starts_with(replacement_);
      if (!starts_with_marker &&
          (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && piece.at_text_start))) {
        piece.text.insert(0, replacement_);
      }
      if (split_) {
        cut(out, piece,
            split_ranges(piece.text.size(), marker.find_all(piece.text), SplitBehavior::MergedWithNext,
                         false));
      } else {
        out.push_back(std::move(piece));
      }
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

SplitBehavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail_input(where + ": unknown split behavior '" + name +
             "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

std::unique_ptr<PreTokenizer> parse_metaspace(const nlohmann::json& json, const std::string& where) {
  const std::string replacement = json_fields::string_field(json, "replacement", where);
  if (replacement.empty()) fail_input(where + ".replacement must not be empty");
  PrependScheme scheme = PrependScheme::Always;
  if (json.contains("prepend_scheme")) {
    const std::string name = json_fields::string_field(json, "prepend_scheme", where);
    if (name == "always")
      scheme = PrependScheme::Always;
    else if (name == "first")
      scheme = PrependScheme::First;
    else if (name == "never")
      scheme = PrependScheme::Never;
    else
      fail_input(where + ".prepend_scheme must be always, first or never, not '" + name + "'");
  } else if (!json_fields::bool_field(json, "add_prefix_space", true, where)) {
    scheme = PrependScheme::Never;  // the older spelling of the same setting
  }
  return std::make_unique<MetaspacePreTokenizer>(replacement, scheme,
                                                 json_fields::bool_field(json, "split", true, where));
}

}  // namespace

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& json, const std::string& where,
                                                  int depth) {
  if (json.is_null()) return nullptr;
  if (depth > json_fields::kMaxSequenceDepth) fail_input(where + ": pre-tokenizers nested too deeply");
  const std::string type = json_fields::type_of(json, where);
  if (type == "Sequence") {
    const auto& list = json_fields::required(json, "pretokenizers", where);
    if (!list.is_array()) fail_input(where + ".pretokenizers must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_where = where + ".pretokenizers[" + std::to_string(i) + "]";
      if (list[i].is_null()) fail_input(item_where + " must be a pre-tokenizer object");
      steps.push_back(parse_pre_tokenizer(list[i], item_where, depth + 1));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(
        TextPattern::from_json(json_fields::required(json, "pattern", where), where),
        parse_behavior(json_fields::string_field(json, "behavior", where), where),
        json_fields::bool_field(json, "invert", false, where));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(
        json_fields::bool_field(json, "add_prefix_space", true, where),
        json_fields::bool_field(json, "use_regex", true, where), where);
  }
  if (type == "Metaspace") return parse_metaspace(json, where);
  if (type == "Digits") {
    return std::make_unique<DigitsPreTokenizer>(
        json_fields::bool_field(json, "individual_digits", false, where));
  }
  fail_input(where + ": unsupported pre-tokenizer type '" + type +
             "' (supported: Sequence, Split, ByteLevel, Metaspace, Digits)");
}

}  // namespace moescope
