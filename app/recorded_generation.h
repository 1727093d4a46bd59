// The end of a recorded generation, one implementation for `run` and `record`: the run's tokens
// (display text, log-probability and, when capacity was enforced, the KL to the dropless run at
// each position) go to the session and the run is ended as complete.
#pragma once

#include <cstdint>
#include <vector>

#include "core/engine.h"
#include "core/generate.h"
#include "sessions/recorder.h"

namespace moescope {

class Tokenizer;

// Returns the per-position KL to dropless: measured only when options.enforce_capacity_factor > 0
// (another pass over the ids), empty otherwise.
std::vector<double> finish_recorded_generation(sessions::SessionWriter& writer, const Model& model,
                                               const EngineOptions& options, const Tokenizer& tokenizer,
                                               const GenerationResult& result, int64_t n_prompt_tokens);

}  // namespace moescope
