// One request as another engine captured it, in moescope's terms: the routing of every routed
// position at every MoE layer of the model, plus whatever else the capture had (token ids, text,
// weights, scores, router logits). Each importer (one file per format in this folder) turns its
// format into these, one request at a time, and hands them to an ImportWriter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope::sessions {

struct CapturedRequest {
  std::string request_id;  // the engine's id, or "<file>#<index>" when it has none
  std::string prompt_text;
  std::string output_text;
  std::vector<int32_t> prompt_ids;  // empty when the capture has no token ids
  std::vector<int32_t> output_ids;
  int64_t n_prompt_tokens = 0;     // from the ids, or from the engine's counts when it has no ids
  int64_t n_generated_tokens = 0;
  // Routed positions: engines route every prompt token and every generated token but the last
  // (it is never fed back), so usually n_prompt_tokens + n_generated_tokens - 1.
  int64_t n_positions = 0;
  // Tokens per forward step, in position order, where the capture knows how tokens were batched
  // (SGLang's expert distribution dump); empty: the whole request is one step and batching is not
  // captured.
  std::vector<int32_t> step_tokens;
  // Per MoE layer of the config, in ascending layer order ("slot"):
  std::vector<int32_t> topk_ids;      // (n_moe_layers, n_positions, top_k)
  std::vector<float> topk_weights;    // (n_moe_layers, n_positions, top_k); empty: not captured
  std::vector<float> scores;          // (n_moe_layers, n_positions, n_experts); empty: not captured
  std::vector<float> router_logits;   // (n_moe_layers, n_positions, n_experts); empty: not captured
};

// Where a file's requests came from: stored once per run in `imported_runs`.
struct CaptureSource {
  std::string engine;          // "sglang", "sglang-dump", "vllm", "hf"
  std::string engine_version;  // "" when neither the capture nor the user says
};

}  // namespace moescope::sessions
