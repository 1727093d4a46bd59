// Prompt -> continuation on any Engine: prefill, then one cached decode step per new token. Used
// by the `run` and `record` verbs and the GUI's worker thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/engine.h"
#include "core/sampling.h"

namespace moescope {

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;
  int64_t max_new_tokens = 32;
  SamplingParams sampling;
  std::optional<int32_t> stop_token;       // usually the EOS id
  const std::atomic<bool>* cancel = nullptr;  // checked between steps
};

struct GeneratedToken {
  int64_t position = 0;
  int32_t id = 0;
  bool is_prompt = false;
  std::optional<double> logprob;  // log p(id | earlier tokens); none for position 0
};

struct GenerationResult {
  std::vector<GeneratedToken> tokens;  // prompt then continuation
  bool cancelled = false;
  bool stopped_at_eos = false;
};

// Resets the engine first. `on_token` (optional) sees each token as soon as it is known.
GenerationResult generate(Engine& engine, const GenerationRequest& request,
                          const std::function<void(const GeneratedToken&)>& on_token = {});

}  // namespace moescope
