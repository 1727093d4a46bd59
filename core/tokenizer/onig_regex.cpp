#include "core/tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

// A search's first retry limit: the tokenizer patterns need at most 16 per match on ordinary text;
// longer scans (no match in a long run of spaces) get doubled limits.
constexpr uint64_t kFirstSearchSteps = 16;

thread_local RegexWorkBudget* open_budget = nullptr;

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

RegexWorkBudget::RegexWorkBudget(size_t text_bytes) {
  if (open_budget) {
    total_ = open_budget->total_;
    return;
  }
  total_ = kBaseSteps + kStepsPerByte * static_cast<uint64_t>(text_bytes);
  remaining_ = total_;
  opened_ = true;
  open_budget = this;
}

RegexWorkBudget::~RegexWorkBudget() {
  if (opened_) open_budget = nullptr;
}

RegexWorkBudget* RegexWorkBudget::current() { return open_budget; }

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
  // The budget open on this thread, else one for this text alone.
  RegexWorkBudget own_budget(text.size());
  RegexWorkBudget& budget = *RegexWorkBudget::current();

  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = str + text.size();
  size_t search_from = 0;
  bool have_last_end = false;
  size_t last_match_end = 0;
  while (search_from <= text.size()) {
    // Retried with a doubled limit while the search needs more, each try charged its whole limit.
    int found = ONIG_MISMATCH;
    for (uint64_t limit = kFirstSearchSteps;; limit *= 2) {
      const uint64_t steps = std::min(limit, budget.remaining());
      if (steps == 0) {
        fail_input(context_ + ": the regex backtracked more than the " + std::to_string(budget.total()) +
                   " steps allowed for this text (a pattern with nested repetition such as (a+)+ can "
                   "take exponential time)");
      }
      onig_initialize_match_param(param.get());
      onig_set_retry_limit_in_match_of_match_param(param.get(), static_cast<unsigned long>(steps));
      onig_set_retry_limit_in_search_of_match_param(param.get(), static_cast<unsigned long>(steps));
      onig_region_clear(region.get());
      found = onig_search_with_param(static_cast<OnigRegex>(regex_), str, end, str + search_from, end,
                                     region.get(), ONIG_OPTION_NONE, param.get());
      budget.charge(steps);
      if (found != ONIGERR_RETRY_LIMIT_IN_MATCH_OVER && found != ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER) break;
    }
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
