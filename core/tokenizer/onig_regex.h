// A compiled Oniguruma regex with the match semantics of the `onig` Rust crate that HF
// `tokenizers` uses: default syntax, UTF-8, non-overlapping matches searched in the whole text.
#pragma once

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
  // right where the previous match ended is skipped. Throws InputError when a search exceeds the
  // backtracking budget (a pathological pattern must not hang the program).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  void* regex_ = nullptr;  // OnigRegex; kept opaque so oniguruma.h stays out of other files
  std::string context_;
};

}  // namespace moescope
