#include "core/dropless_kl.h"

#include "core/analysis/divergence.h"
#include "core/engine_factory.h"
#include "core/model.h"

namespace moescope {

std::vector<double> kl_to_dropless(const Model& model, EngineOptions options, std::span<const int32_t> ids) {
  std::vector<float> enforced, dropless;
  create_engine(model, options)->forward(ids, true, enforced);
  options.enforce_capacity_factor = 0.0;
  create_engine(model, options)->forward(ids, true, dropless);
  const size_t vocab = static_cast<size_t>(model.config.vocab_size);
  std::vector<double> kl(ids.size());
  for (size_t p = 0; p < ids.size(); ++p)
    kl[p] = analysis::next_token_kl(std::span(dropless).subspan(p * vocab, vocab), std::span(enforced).subspan(p * vocab, vocab));
  return kl;
}

}  // namespace moescope
