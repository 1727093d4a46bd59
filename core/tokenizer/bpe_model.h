// The BPE model of a Hugging Face tokenizer.json: vocabulary, ranked merges, and the word-level
// algorithm of `tokenizers` (characters, byte fallback or unk, then lowest-rank merges first).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace moescope {

// Hashes std::string and std::string_view alike, so lookups by view do not allocate.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

// Ids above this are refused: a vocabulary file cannot make us allocate without bound.
constexpr int32_t kMaxTokenId = (1 << 22) - 1;  // 4M: well above real vocabularies (~260k)

class BpeModel {
 public:
  // `model` is the "model" object of tokenizer.json; `context` names the file for errors.
  BpeModel(const nlohmann::json& model, const std::string& context);

  // Appends the ids of one pre-tokenized word.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Null for an id the vocabulary does not have.
  const std::string* id_to_token(int32_t id) const;
  int32_t id_bound() const { return pieces_.empty() ? 0 : pieces_.back().first + 1; }  // max id + 1
  bool byte_fallback() const { return byte_fallback_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int32_t left, int32_t right) const;
  void merge_symbols(std::vector<int32_t>& ids) const;

  StringIdMap vocab_;
  // (id, piece) sorted by id, one entry per id the vocabulary has. Sized by the entries, not by
  // the largest id: a few-byte file naming id 4,000,000 must not cost a 4M-slot table.
  std::vector<std::pair<int32_t, std::string>> pieces_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  int32_t byte_ids_[256];  // id of "<0xNN>" per byte, -1 when absent
};

}  // namespace moescope
