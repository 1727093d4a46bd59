// Shape and value checks for RoutingArrays: every analysis function indexes the buffers without
// bounds checks, so a reader bug or a foreign session must be caught here with one clear line.
#include "core/analysis/routing_arrays.h"

#include <string>

#include "core/checked_math.h"
#include "core/error.h"

namespace moescope::analysis {
namespace {

void expect_size(const char* field, size_t actual, int64_t expected, const char* shape) {
  if (static_cast<int64_t>(actual) != expected) {
    fail_input(std::string("routing arrays: ") + field + " has " + std::to_string(actual) +
               " values, expected " + std::to_string(expected) + " " + shape);
  }
}

}  // namespace

void validate(const RoutingArrays& a) {
  if (a.n_tokens < 0 || a.n_layers < 0 || a.n_experts < 1 || a.top_k < 1) {
    fail_input("routing arrays: dimensions must be n_tokens >= 0, n_layers >= 0, n_experts >= 1, "
               "top_k >= 1 (got " + std::to_string(a.n_tokens) + ", " + std::to_string(a.n_layers) +
               ", " + std::to_string(a.n_experts) + ", " + std::to_string(a.top_k) + ")");
  }
  if (a.top_k > a.n_experts) {
    fail_input("routing arrays: top_k " + std::to_string(a.top_k) + " exceeds n_experts " +
               std::to_string(a.n_experts));
  }
  const int64_t layer_tokens = checked_mul(a.n_layers, a.n_tokens, "routing arrays");
  const int64_t n_assign = checked_mul(layer_tokens, a.top_k, "routing arrays topk_ids");
  const int64_t n_scores = checked_mul(layer_tokens, a.n_experts, "routing arrays scores");
  expect_size("layer_ids", a.layer_ids.size(), a.n_layers, "(n_layers)");
  expect_size("topk_ids", a.topk_ids.size(), n_assign, "(n_layers, n_tokens, top_k)");
  expect_size("topk_weights", a.topk_weights.size(), n_assign, "(n_layers, n_tokens, top_k)");
  if (a.has_scores()) expect_size("scores", a.scores.size(), n_scores, "(n_layers, n_tokens, n_experts)");
  if (a.has_router_logits()) {
    expect_size("router_logits", a.router_logits.size(), n_scores, "(n_layers, n_tokens, n_experts)");
  }
  expect_size("step_of_token", a.step_of_token.size(), a.n_tokens, "(n_tokens)");
  expect_size("token_ids", a.token_ids.size(), a.n_tokens, "(n_tokens)");

  for (size_t i = 0; i < a.topk_ids.size(); ++i) {
    const int32_t e = a.topk_ids[i];
    if (e == kNoExpert) {
      if (i % static_cast<size_t>(a.top_k) + 1 < static_cast<size_t>(a.top_k) && a.topk_ids[i + 1] != kNoExpert)
        fail_input("routing arrays: topk_ids[" + std::to_string(i + 1) + "] = " + std::to_string(a.topk_ids[i + 1]) +
                   " follows an empty slot; a token's experts come before its empty slots");
      continue;
    }
    if (e < 0 || e >= a.n_experts) {
      fail_input("routing arrays: topk_ids[" + std::to_string(i) + "] = " + std::to_string(e) +
                 " is outside [0, " + std::to_string(a.n_experts) + ")");
    }
  }
  // The metrics count a token's experts as a set; a repeated id would double-count one expert.
  for (int64_t row = 0; row < layer_tokens; ++row) {
    const int32_t* ids = a.topk_ids.data() + row * a.top_k;
    for (int32_t i = 0; i < a.top_k; ++i) {
      for (int32_t j = i + 1; j < a.top_k; ++j) {
        if (ids[i] == ids[j] && ids[i] != kNoExpert) {
          fail_input("routing arrays: layer " + std::to_string(row / a.n_tokens) + " token " +
                     std::to_string(row % a.n_tokens) + " selects expert " + std::to_string(ids[i]) +
                     " twice in its top-k");
        }
      }
    }
  }
  for (int32_t t = 1; t < a.n_tokens; ++t) {
    if (a.step_of_token[t] < a.step_of_token[t - 1]) {
      fail_input("routing arrays: step_of_token decreases at token " + std::to_string(t) + " (" +
                 std::to_string(a.step_of_token[t - 1]) + " then " + std::to_string(a.step_of_token[t]) +
                 "), expected tokens in forward-step order");
    }
  }
}

}  // namespace moescope::analysis
