#include "core/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <queue>

#include "core/error.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

std::string optional_string(const nlohmann::json& object, const char* key, const std::string& context) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) fail_input(context + ": model." + key + " must be a string or null");
  return it->get<std::string>();
}

bool optional_bool(const nlohmann::json& object, const char* key, bool fallback, const std::string& context) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail_input(context + ": model." + key + " must be true or false");
  return it->get<bool>();
}

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& context) {
  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) fail_input(context + ": model.vocab must be an object");
  vocab_.reserve(vocab->size());
  pieces_.reserve(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
      fail_input(context + ": vocabulary id of '" + token + "' must be an integer in [0, " +
                 std::to_string(kMaxTokenId) + "]");
    }
    const auto value = static_cast<int32_t>(id.get<int64_t>());
    vocab_[token] = value;
    pieces_.emplace_back(value, token);
  }
  // Two tokens sharing an id decode as the first in key order (nlohmann keeps keys sorted), so
  // the choice does not depend on hashing.
  std::stable_sort(pieces_.begin(), pieces_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  pieces_.erase(std::unique(pieces_.begin(), pieces_.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                pieces_.end());

  const auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    fail_input(context + ": BPE dropout is not supported (it makes encoding random)");
  }
  fuse_unk_ = optional_bool(model, "fuse_unk", false, context);
  byte_fallback_ = optional_bool(model, "byte_fallback", false, context);
  ignore_merges_ = optional_bool(model, "ignore_merges", false, context);
  continuing_subword_prefix_ = optional_string(model, "continuing_subword_prefix", context);
  end_of_word_suffix_ = optional_string(model, "end_of_word_suffix", context);
  const std::string unk = optional_string(model, "unk_token", context);
  if (!unk.empty()) {
    // As `tokenizers`: an unk token missing from the vocabulary only fails when it is needed,
    // so it is simply treated as absent here.
    if (const auto id = token_to_id(unk)) unk_id_ = *id;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto id = token_to_id(name);
    byte_ids_[b] = id ? *id : -1;
  }

  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) fail_input(context + ": model.merges must be an array");
  merges_.reserve(merges->size());
  int32_t rank = 0;
  for (const auto& merge : *merges) {
    std::string left, right;
    if (merge.is_string()) {
      // "left right": exactly one space, as `tokenizers` requires.
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        fail_input(context + ": merge '" + text + "' must be two tokens separated by one space");
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      fail_input(context + ": merge #" + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"]");
    }
    const auto left_id = token_to_id(left);
    const auto right_id = token_to_id(right);
    if (!left_id || !right_id) {
      fail_input(context + ": merge #" + std::to_string(rank) +
                 " uses a token missing from the vocabulary: '" + (left_id ? right : left) + "'");
    }
    if (right.size() < continuing_subword_prefix_.size()) {
      fail_input(context + ": merge '" + left + " " + right +
                 "' is shorter than the continuing_subword_prefix");
    }
    const std::string merged = left + right.substr(continuing_subword_prefix_.size());
    const auto merged_id = token_to_id(merged);
    if (!merged_id) fail_input(context + ": merge result '" + merged + "' is missing from the vocabulary");
    merges_[pair_key(*left_id, *right_id)] = Merge{rank, *merged_id};  // a later duplicate wins, as in HF
    ++rank;
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  const auto it = std::lower_bound(pieces_.begin(), pieces_.end(), id,
                                   [](const auto& entry, int32_t key) { return entry.first < key; });
  if (it == pieces_.end() || it->first != id) return nullptr;
  return &it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto id = token_to_id(word)) {
      out.push_back(*id);
      return;
    }
  }
  // Characters -> initial symbols. Unknown characters become their bytes (byte fallback) or the
  // unk token, consecutive unks fused when fuse_unk is set.
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool pending_unk = false;
  std::string candidate;
  size_t pos = 0;
  while (pos < word.size()) {
    size_t length = utf8::sequence_length(word, pos);
    if (length == 0) length = 1;  // callers pass valid UTF-8; a stray byte stays one symbol
    const bool is_first = pos == 0;
    const bool is_last = pos + length == word.size();
    candidate.assign(word.substr(pos, length));
    if (!is_first && !continuing_subword_prefix_.empty()) candidate.insert(0, continuing_subword_prefix_);
    if (is_last) candidate += end_of_word_suffix_;
    pos += length;

    if (const auto id = token_to_id(candidate)) {
      if (pending_unk) symbols.push_back(*unk_id_);
      pending_unk = false;
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char b : candidate) all_bytes = all_bytes && byte_ids_[static_cast<uint8_t>(b)] >= 0;
      if (all_bytes) {
        // As `tokenizers`: a pending unk is not flushed here, it lands after these bytes.
        for (char b : candidate) symbols.push_back(byte_ids_[static_cast<uint8_t>(b)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !fuse_unk_) symbols.push_back(*unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) symbols.push_back(*unk_id_);
  merge_symbols(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

// Repeatedly merges the adjacent pair with the lowest rank (leftmost on ties) until none is left:
// a doubly linked list over the symbols and a min-heap of candidate merges, stale entries skipped.
void BpeModel::merge_symbols(std::vector<int32_t>& ids) const {
  const auto n = static_cast<int32_t>(ids.size());
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);  // (n) neighbours; -1 / n at the ends
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1;
  }
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
  };
  const auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const Merge* m = find_merge(ids[i], ids[i + 1])) queue.push({m->rank, i, m->new_id});
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] >= n) continue;
    const int32_t right = next[top.pos];
    const Merge* current = find_merge(ids[top.pos], ids[right]);
    if (!current || current->new_id != top.new_id) continue;  // stale entry

    ids[top.pos] = top.new_id;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] < n) prev[next[right]] = top.pos;

    if (prev[top.pos] >= 0) {
      const int32_t left = prev[top.pos];
      if (const Merge* m = find_merge(ids[left], ids[top.pos])) queue.push({m->rank, left, m->new_id});
    }
    if (next[top.pos] < n) {
      if (const Merge* m = find_merge(ids[top.pos], ids[next[top.pos]]))
        queue.push({m->rank, top.pos, m->new_id});
    }
  }
  size_t kept = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (alive[i]) ids[kept++] = ids[i];
  }
  ids.resize(kept);
}

}  // namespace moescope
