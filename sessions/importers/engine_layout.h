// SGLang's and vLLM's routed-experts arrays share one layout: int32 [tokens, num_hidden_layers,
// num_experts_per_tok], indexed by the model's own layer number over every hidden layer (a dense
// layer's entries stay whatever the buffer held; they are skipped here), one row per routed token
// (the prompt and every generated token but the last). This turns that layout into the
// CapturedRequest's per-MoE-layer arrays, checking it against the config.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/model_config.h"
#include "sessions/importers/captured_request.h"

namespace moescope::sessions {

// `values` holds n_positions x config.num_layers x config.top_k ids. Fills request.topk_ids and
// request.n_positions. `where` names the request and field in errors.
void take_engine_layout(std::span<const int32_t> values, int64_t n_positions, const ModelConfig& config,
                        const std::string& where, CapturedRequest& request);

// The number of routed positions in `n_values` ids of that layout, or an InputError saying the
// count does not divide into the config's layers and k.
int64_t engine_layout_positions(int64_t n_values, const ModelConfig& config, const std::string& where);

}  // namespace moescope::sessions
