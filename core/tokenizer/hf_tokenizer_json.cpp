// Tokenizer for Hugging Face tokenizer.json files, following `tokenizers`' encode pipeline:
// added tokens split out of the raw text, normalizer, added tokens split out of the normalized
// text, pre-tokenizer, BPE per word, post-processor; decode through the file's decoder.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "core/input_file.h"
#include "core/tokenizer/added_tokens.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/byte_piece.h"
#include "core/tokenizer/display_text.h"
#include "core/tokenizer/hf_decoder.h"
#include "core/tokenizer/hf_normalizer.h"
#include "core/tokenizer/hf_post_processor.h"
#include "core/tokenizer/hf_pre_tokenizer.h"
#include "core/tokenizer/json_fields.h"
#include "core/tokenizer/onig_regex.h"
#include "core/tokenizer/text_pattern.h"
#include "core/tokenizer/tokenizer_config.h"
#include "core/tokenizer/tokenizer_loaders.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

constexpr size_t kMaxTokenizerJsonBytes = 1u << 30;
// Words longer than this are encoded without caching, so the per-call cache stays small.
constexpr size_t kMaxCachedWordBytes = 256;

std::vector<AddedToken> parse_added_tokens(const nlohmann::json& root, const BpeModel& model,
                                           const std::string& where) {
  std::vector<AddedToken> tokens;
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return tokens;
  if (!it->is_array()) fail_input(where + ": added_tokens must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& entry = (*it)[i];
    const std::string entry_where = where + ": added_tokens[" + std::to_string(i) + "]";
    AddedToken token;
    token.content = json_fields::string_field(entry, "content", entry_where);
    if (token.content.empty()) continue;  // `tokenizers` ignores empty added tokens
    if (!utf8::is_valid(token.content)) fail_input(entry_where + ".content is not valid UTF-8");
    // As `tokenizers`: a token the model already knows keeps the model's id.
    const auto model_id = model.token_to_id(token.content);
    token.id =
        model_id ? *model_id
                 : static_cast<int32_t>(json_fields::int_field(entry, "id", -1, 0, kMaxTokenId, entry_where));
    if (token.id < 0) fail_input(entry_where + " has no \"id\"");
    token.special = json_fields::bool_field(entry, "special", false, entry_where);
    token.normalized = json_fields::bool_field(entry, "normalized", !token.special, entry_where);
    token.lstrip = json_fields::bool_field(entry, "lstrip", false, entry_where);
    token.rstrip = json_fields::bool_field(entry, "rstrip", false, entry_where);
    token.single_word = json_fields::bool_field(entry, "single_word", false, entry_where);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

const nlohmann::json& optional_component(const nlohmann::json& root, const char* key) {
  static const nlohmann::json null_json;
  const auto it = root.find(key);
  return it == root.end() ? null_json : *it;
}

class HfJsonTokenizer final : public Tokenizer {
 public:
  HfJsonTokenizer(const nlohmann::json& root, const std::filesystem::path& file);

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  std::string piece(int32_t id) const override;
  std::string display_text(int32_t id) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return bos_id_; }
  std::optional<int32_t> eos_id() const override { return eos_id_; }

 private:
  using WordCache = std::unordered_map<std::string, std::vector<int32_t>>;
  void encode_model_text(std::string text, bool at_text_start, WordCache& cache,
                         std::vector<int32_t>& ids) const;
  // The piece of `id`, or null for an id inside the range that no token has.
  const std::string* token_of(int32_t id) const;
  std::optional<int32_t> id_of_token(const std::optional<std::string>& token) const;

  std::string file_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<AddedToken> added_tokens_;
  std::unordered_map<int32_t, size_t> added_by_id_;        // id -> index into added_tokens_
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // tokens with normalized = false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // tokens with normalized = true
  bool byte_level_ = false;
  std::string metaspace_ = "\xE2\x96\x81";  // ▁
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

HfJsonTokenizer::HfJsonTokenizer(const nlohmann::json& root, const std::filesystem::path& file)
    : file_(file.string()) {
  if (!root.is_object()) fail_input(file_ + ": expected a JSON object at the top level");
  const auto& model = json_fields::required(root, "model", file_);
  if (!model.is_object()) fail_input(file_ + ": \"model\" must be an object");
  // Files from before `tokenizers` 0.10 name no type; their model is BPE when it has merges.
  const std::string type = model.contains("type") ? json_fields::type_of(model, file_ + ": model")
                                                  : (model.contains("merges") ? "BPE" : "");
  if (type != "BPE") {
    fail_input(file_ + ": unsupported tokenizer model type '" + type + "' (supported: BPE)");
  }
  model_ = std::make_unique<BpeModel>(model, file_);
  normalizer_ = parse_normalizer(optional_component(root, "normalizer"), file_ + ": normalizer");
  pre_tokenizer_ = parse_pre_tokenizer(optional_component(root, "pre_tokenizer"), file_ + ": pre_tokenizer");
  post_processor_ =
      parse_post_processor(optional_component(root, "post_processor"), file_ + ": post_processor");
  decoder_ = parse_decoder(optional_component(root, "decoder"), file_ + ": decoder");
  byte_level_ =
      (pre_tokenizer_ && pre_tokenizer_->is_byte_level()) || (decoder_ && decoder_->is_byte_level());

  added_tokens_ = parse_added_tokens(root, *model_, file_);
  vocab_size_ = model_->id_bound();
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (size_t i = 0; i < added_tokens_.size(); ++i) {
    const AddedToken& token = added_tokens_[i];
    added_by_id_.emplace(token.id, i);
    vocab_size_ = std::max(vocab_size_, token.id + 1);
    if (token.normalized) {
      std::string pattern = token.content;
      if (normalizer_) normalizer_->apply(pattern);
      normalized.push_back(token);
      normalized_patterns.push_back(std::move(pattern));
    } else {
      raw.push_back(token);
      raw_patterns.push_back(token.content);
    }
  }
  // `tokenizers` emits a template's ids unchecked; one past the vocabulary would reach the model
  // as an embedding row it does not have (a fuzzing finding: "ids": [91] in an 11-id vocabulary).
  if (const auto largest = post_processor_ ? post_processor_->largest_special() : std::nullopt;
      largest && *largest >= vocab_size_) {
    fail_input(file_ + ": post_processor inserts special token id " + std::to_string(*largest) +
               ", outside the vocabulary (ids 0.." + std::to_string(vocab_size_ - 1) + ")");
  }
  raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw, raw_patterns);
  normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized, normalized_patterns);

  const TokenizerConfig config = read_tokenizer_config(file.parent_path());
  bos_id_ = id_of_token(config.bos_token);
  eos_id_ = id_of_token(config.eos_token);
  if (!bos_id_ && post_processor_) bos_id_ = post_processor_->leading_special();
}

std::optional<int32_t> HfJsonTokenizer::id_of_token(const std::optional<std::string>& token) const {
  if (!token) return std::nullopt;
  for (const AddedToken& added : added_tokens_) {
    if (added.content == *token) return added.id;
  }
  return model_->token_to_id(*token);
}

void HfJsonTokenizer::encode_model_text(std::string text, bool at_text_start, WordCache& cache,
                                        std::vector<int32_t>& ids) const {
  std::vector<PreToken> words{{std::move(text), at_text_start}};
  if (pre_tokenizer_) pre_tokenizer_->apply(words);
  for (const PreToken& word : words) {
    if (word.text.size() > kMaxCachedWordBytes) {
      model_->tokenize(word.text, ids);
      continue;
    }
    auto [it, inserted] = cache.try_emplace(word.text);
    if (inserted) model_->tokenize(word.text, it->second);
    ids.insert(ids.end(), it->second.begin(), it->second.end());
  }
}

std::vector<int32_t> HfJsonTokenizer::encode(std::string_view text, bool add_special) const {
  if (!utf8::is_valid(text)) fail_input("text to tokenize is not valid UTF-8");
  const RegexWorkBudget regex_budget(text.size());  // shared by every regex search made for this text
  std::vector<int32_t> ids;
  WordCache cache;
  for (TextSegment& raw : raw_matcher_->split(text)) {
    if (raw.token_id >= 0) {
      ids.push_back(raw.token_id);
      continue;
    }
    std::string normalized = std::move(raw.text);
    if (normalizer_) normalizer_->apply(normalized);
    for (TextSegment& segment : normalized_matcher_->split(normalized)) {
      if (segment.token_id >= 0) {
        ids.push_back(segment.token_id);
      } else {
        encode_model_text(std::move(segment.text), raw.begin == 0 && segment.begin == 0, cache, ids);
      }
    }
  }
  if (add_special && post_processor_) post_processor_->add_special(ids);
  return ids;
}

const std::string* HfJsonTokenizer::token_of(int32_t id) const {
  const auto added = added_by_id_.find(id);
  if (added != added_by_id_.end()) return &added_tokens_[added->second].content;
  return model_->id_to_token(id);
}

// Ids without a token are left out, as `tokenizers` does.
std::string HfJsonTokenizer::decode(std::span<const int32_t> ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (const std::string* token = token_of(id)) tokens.push_back(*token);
  }
  size_t token_bytes = 0;
  for (const std::string& token : tokens) token_bytes += token.size();
  const RegexWorkBudget regex_budget(token_bytes);  // a Replace decoder's searches share it
  std::string text;
  if (decoder_) {
    for (const std::string& part : decoder_->decode_chain(std::move(tokens))) text += part;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  return text;
}

std::string HfJsonTokenizer::piece(int32_t id) const {
  const std::string* token = token_of(id);
  return token ? *token : std::string();
}

std::string HfJsonTokenizer::display_text(int32_t id) const {
  const std::string* token = token_of(id);
  if (!token) return display_text_of_unknown_id(id);
  if (added_by_id_.count(id)) return display_text_from_bytes(*token);
  if (model_->byte_fallback()) {
    if (const auto byte = parse_byte_piece(*token))
      return display_text_from_bytes(std::string(1, static_cast<char>(*byte)));
  }
  if (byte_level_) {
    if (const auto bytes = byte_level::decode(*token)) return display_text_from_bytes(*bytes);
    return display_text_from_bytes(*token);
  }
  return display_text_from_bytes(TextPattern::literal(metaspace_).replace_all(*token, " "));
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& file) {
  const std::string bytes = read_regular_file(file, kMaxTokenizerJsonBytes);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    fail_input(file.string() + ": not valid JSON: " + e.what());
  }
  try {
    return std::make_unique<HfJsonTokenizer>(root, file);
  } catch (const nlohmann::json::exception& e) {
    // A field of an unexpected JSON type that a check above did not anticipate.
    fail_input(file.string() + ": unexpected tokenizer.json content: " + e.what());
  }
}

}  // namespace moescope
