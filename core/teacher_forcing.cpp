#include "core/teacher_forcing.h"

#include <string>

#include "core/error.h"

namespace moescope {

std::vector<float> teacher_forced_logits(Engine& engine, std::span<const int32_t> ids, int64_t n_prompt) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n_prompt < 1 || n_prompt > n)
    fail_input("teacher forcing: the prompt has " + std::to_string(n_prompt) + " of " + std::to_string(n) +
               " tokens; expected at least 1 and at most all of them");
  const size_t vocab = static_cast<size_t>(engine.config().vocab_size);
  std::vector<float> all(static_cast<size_t>(n) * vocab), step;
  engine.reset();
  engine.forward(ids.first(static_cast<size_t>(n_prompt)), true, step);
  std::copy(step.begin(), step.end(), all.begin());
  for (int64_t p = n_prompt; p < n; ++p) {
    engine.forward(ids.subspan(static_cast<size_t>(p), 1), false, step);
    std::copy(step.begin(), step.end(), all.begin() + static_cast<std::ptrdiff_t>(p * vocab));
  }
  return all;
}

}  // namespace moescope
