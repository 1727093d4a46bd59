#include "ui/selection.h"

#include <algorithm>

namespace moescope::ui {

void Selection::set_range(int32_t begin, int32_t end, int32_t n_tokens) {
  begin = std::clamp(begin, 0, std::max(0, n_tokens));
  end = std::clamp(end, begin, std::max(0, n_tokens));
  if (end - begin < 1 || (begin == 0 && end == n_tokens)) begin = end = 0;
  if (begin == token_begin && end == token_end) return;
  token_begin = begin;
  token_end = end;
  ++range_revision;
}

void Selection::clear_range() {
  if (!has_range()) return;
  token_begin = token_end = 0;
  ++range_revision;
}

std::pair<double, double> Selection::range_fraction(int32_t n_tokens) const {
  if (!has_range() || n_tokens <= 0) return {0.0, 1.0};
  return {static_cast<double>(token_begin) / n_tokens,
          static_cast<double>(std::min(token_end, n_tokens)) / n_tokens};
}

void Selection::move_pinned(int32_t delta, int32_t n_tokens) {
  if (n_tokens <= 0) return;
  if (pinned_token < 0 || pinned_token >= n_tokens) {
    pinned_token = has_range() ? token_begin : 0;
  } else {
    pinned_token = std::clamp(pinned_token + delta, 0, n_tokens - 1);
  }
  if (!has_range()) return;
  const int32_t width = token_end - token_begin;
  if (pinned_token < token_begin) set_range(pinned_token, pinned_token + width, n_tokens);
  if (pinned_token >= token_end) set_range(pinned_token + 1 - width, pinned_token + 1, n_tokens);
}

void Selection::reset_tokens() {
  clear_range();
  pinned_token = -1;
}

std::pair<int32_t, int32_t> tokens_of_steps(std::span<const int64_t> step_of_token, int64_t first_step,
                                            int64_t last_step) {
  const auto begin = std::lower_bound(step_of_token.begin(), step_of_token.end(), first_step);
  const auto end = std::upper_bound(begin, step_of_token.end(), last_step);
  return {static_cast<int32_t>(begin - step_of_token.begin()),
          static_cast<int32_t>(end - step_of_token.begin())};
}

}  // namespace moescope::ui
