// A compiled Oniguruma regex with the match semantics of the `onig` Rust crate that HF
// `tokenizers` uses: default syntax, UTF-8, non-overlapping matches searched in the whole text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope {

class CompiledRegex {
 public:
  // `context` names where the pattern came from, for the InputError a bad pattern raises.
  CompiledRegex(std::string_view pattern, const std::string& context);
  ~CompiledRegex();
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;

  // [begin, end) byte ranges of the successive matches in `text` (valid UTF-8). An empty match
  // right where the previous match ended is skipped. The searches draw on the RegexWorkBudget open
  // on this thread (else on one of their own for `text`); InputError when it runs out.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  void* regex_ = nullptr;  // OnigRegex; kept opaque so oniguruma.h stays out of other files
  std::string context_;
};

// The backtracking work allowed for all the regex searches made for one text. Oniguruma's retry
// limits hold per search call, and a pre-tokenizer makes one call per match, so a pattern that
// backtracks a little less than the per-call limit at every match costs that limit times the
// matches (a Split pattern took 58 s on 10 KB). This budget is shared by every search made while
// it is open on the thread: Tokenizer::encode opens one for its text, so the normalizers and
// pre-tokenizers of one encode share it whatever their order and number.
//
// Accounting is exact in one direction: each search runs with a retry limit (16 steps at first,
// doubled when a search needs more) and is charged its whole limit, an upper bound of what it did.
// The tokenizer patterns of Llama 3, GPT-2, Qwen and DeepSeek use 2 to 10 charged steps per byte of
// text; the budget is 100,000 + 64 per byte, so only a pattern that backtracks without bound runs
// out (at ~0.4 us per step, within ~0.3 s on 10 KB).
class RegexWorkBudget {
 public:
  static constexpr uint64_t kBaseSteps = 100'000;
  static constexpr uint64_t kStepsPerByte = 64;

  // Opens a budget for a text of `text_bytes` on this thread, unless one is already open (an
  // inner scope then shares the outer one). Closed when destroyed.
  explicit RegexWorkBudget(size_t text_bytes);
  ~RegexWorkBudget();
  RegexWorkBudget(const RegexWorkBudget&) = delete;
  RegexWorkBudget& operator=(const RegexWorkBudget&) = delete;

  // The budget searches on this thread draw on now, or nullptr.
  static RegexWorkBudget* current();

  uint64_t total() const { return total_; }
  uint64_t remaining() const { return remaining_; }
  // Takes `steps` (at most what remains).
  void charge(uint64_t steps) { remaining_ -= steps < remaining_ ? steps : remaining_; }

 private:
  uint64_t total_ = 0;
  uint64_t remaining_ = 0;
  bool opened_ = false;  // false for an inner scope that shares the outer budget
};

}  // namespace moescope
