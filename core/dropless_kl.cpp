#include "core/dropless_kl.h"

#include "core/analysis/divergence.h"
#include "core/engine_factory.h"
#include "core/model.h"
#include "core/teacher_forcing.h"

namespace moescope {

std::vector<double> kl_to_dropless(const Model& model, EngineOptions options, std::span<const int32_t> ids,
                                   int64_t n_prompt) {
  // No observer: these passes only measure, they record nothing.
  const std::vector<float> enforced = teacher_forced_logits(*create_engine(model, options), ids, n_prompt);
  options.enforce_capacity_factor = 0.0;
  const std::vector<float> dropless = teacher_forced_logits(*create_engine(model, options), ids, n_prompt);
  const size_t vocab = static_cast<size_t>(model.config.vocab_size);
  std::vector<double> kl(ids.size());
  for (size_t p = 0; p < ids.size(); ++p)
    kl[p] = analysis::next_token_kl(std::span(dropless).subspan(p * vocab, vocab),
                                    std::span(enforced).subspan(p * vocab, vocab));
  return kl;
}

}  // namespace moescope
