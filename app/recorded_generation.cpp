#include "app/recorded_generation.h"

#include "core/dropless_kl.h"
#include "core/tokenizer.h"

namespace moescope {

std::vector<double> finish_recorded_generation(sessions::SessionWriter& writer, const Model& model,
                                               const EngineOptions& options, const Tokenizer& tokenizer,
                                               const GenerationResult& result, int64_t n_prompt_tokens) {
  std::vector<double> kl;
  if (options.enforce_capacity_factor > 0) {
    std::vector<int32_t> ids;
    ids.reserve(result.tokens.size());
    for (const GeneratedToken& token : result.tokens) ids.push_back(token.id);
    kl = kl_to_dropless(model, options, ids, n_prompt_tokens);
  }
  std::vector<sessions::TokenRecord> records;
  records.reserve(result.tokens.size());
  for (const GeneratedToken& token : result.tokens) {
    sessions::TokenRecord record{token.position, token.id, tokenizer.display_text(token.id), token.is_prompt,
                                 token.logprob, std::nullopt};
    if (!kl.empty()) record.kl_to_dropless = kl[static_cast<size_t>(token.position)];
    records.push_back(std::move(record));
  }
  writer.add_tokens(records);
  writer.end_run({sessions::RunStatus::complete, ""});
  return kl;
}

}  // namespace moescope
