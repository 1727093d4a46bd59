#include "core/tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <memory>

#include "core/error.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

// Generous for the tokenizer patterns (linear-ish) but stops catastrophic backtracking.
constexpr unsigned long kRetryLimitInMatch = 10'000'000;
constexpr unsigned long kRetryLimitInSearch = 100'000'000;

void initialize_oniguruma() {
  static const bool initialized = [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
    return true;
  }();
  (void)initialized;
}

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  if (info) {
    onig_error_code_to_str(buffer, code, info);
  } else {
    onig_error_code_to_str(buffer, code);
  }
  return reinterpret_cast<const char*>(buffer);
}

struct MatchParamDeleter {
  void operator()(OnigMatchParam* p) const { onig_free_match_param(p); }
};
struct RegionDeleter {
  void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
};

}  // namespace

CompiledRegex::CompiledRegex(std::string_view pattern, const std::string& context) : context_(context) {
  initialize_oniguruma();
  if (!utf8::is_valid(pattern)) fail_input(context + ": regex pattern is not valid UTF-8");
  OnigRegex regex = nullptr;
  OnigErrorInfo info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int code = onig_new(&regex, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                            ONIG_SYNTAX_DEFAULT, &info);
  if (code != ONIG_NORMAL) {
    fail_input(context + ": bad regex pattern '" + std::string(pattern) + "': " + onig_message(code, &info));
  }
  regex_ = regex;
}

CompiledRegex::~CompiledRegex() { onig_free(static_cast<OnigRegex>(regex_)); }

std::vector<std::pair<size_t, size_t>> CompiledRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  std::unique_ptr<OnigMatchParam, MatchParamDeleter> param(onig_new_match_param());
  std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  if (!param || !region) throw std::bad_alloc();
  onig_initialize_match_param(param.get());
  onig_set_retry_limit_in_match_of_match_param(param.get(), kRetryLimitInMatch);
  onig_set_retry_limit_in_search_of_match_param(param.get(), kRetryLimitInSearch);

  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = str + text.size();
  size_t search_from = 0;
  bool have_last_end = false;
  size_t last_match_end = 0;
  while (search_from <= text.size()) {
    onig_region_clear(region.get());
    const int found = onig_search_with_param(static_cast<OnigRegex>(regex_), str, end, str + search_from, end,
                                             region.get(), ONIG_OPTION_NONE, param.get());
    if (found == ONIG_MISMATCH) break;
    if (found < 0) fail_input(context_ + ": regex search failed: " + onig_message(found, nullptr));
    const auto begin = static_cast<size_t>(region->beg[0]);
    const auto finish = static_cast<size_t>(region->end[0]);
    if (begin == finish && have_last_end && last_match_end == finish) {
      // An empty match glued to the previous one: step over one character and look again.
      const size_t step = search_from < text.size() ? utf8::sequence_length(text, search_from) : 1;
      search_from += step == 0 ? 1 : step;
      continue;
    }
    matches.emplace_back(begin, finish);
    search_from = finish;
    have_last_end = true;
    last_match_end = finish;
  }
  return matches;
}

}  // namespace moescope
