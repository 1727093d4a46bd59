#include "core/generate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace moescope {

namespace {

// Prompt logprobs need every prefill row; past this many floats only the last row is kept.
constexpr int64_t kMaxPrefillLogitFloats = int64_t{1} << 26;

}  // namespace

GenerationResult generate(Engine& engine, const GenerationRequest& request,
                          const std::function<void(const GeneratedToken&)>& on_token) {
  if (request.prompt_ids.empty()) fail_input("the prompt is empty: give at least one token");
  const int64_t vocab = engine.config().vocab_size;
  const int64_t n_prompt = static_cast<int64_t>(request.prompt_ids.size());
  GenerationResult result;
  auto emit = [&](GeneratedToken token) {
    result.tokens.push_back(token);
    if (on_token) on_token(token);
  };
  engine.reset();
  std::mt19937_64 rng(request.sampling.seed);
  std::vector<float> logits;
  const bool all_rows = n_prompt * vocab <= kMaxPrefillLogitFloats;
  engine.forward(request.prompt_ids, all_rows, logits);
  for (int64_t p = 0; p < n_prompt; ++p) {
    GeneratedToken token{p, request.prompt_ids[p], true, std::nullopt};
    if (p > 0 && all_rows)
      token.logprob = token_logprob(std::span(logits).subspan((p - 1) * vocab, vocab), token.id);
    emit(token);
  }
  std::span<const float> last = std::span(logits).last(static_cast<size_t>(vocab));
  std::vector<float> next_logits;
  for (int64_t i = 0; i < request.max_new_tokens; ++i) {
    if (request.cancel && request.cancel->load()) {
      result.cancelled = true;
      break;
    }
    const int32_t next = sample_token(last, request.sampling, rng);
    emit({n_prompt + i, next, false, token_logprob(last, next)});
    if (request.stop_token && next == *request.stop_token) {
      result.stopped_at_eos = true;
      break;
    }
    if (i + 1 == request.max_new_tokens) break;
    const int32_t one[1] = {next};
    engine.forward(one, false, next_logits);
    last = next_logits;
  }
  return result;
}

}  // namespace moescope
