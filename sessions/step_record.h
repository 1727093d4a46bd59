// What the observer copies out of one forward step for the writer thread. The engine's spans are
// only valid during its callbacks, so everything is owned here.
#pragma once

#include <cstdint>
#include <vector>

#include "core/observer.h"

namespace moescope::sessions {

struct LayerRouting {
  int32_t layer = 0;
  int64_t first_position = 0;
  int32_t n_tokens = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  std::vector<float> scores;         // (n_tokens, n_experts); empty when not stored
  std::vector<float> router_logits;  // (n_tokens, n_experts); empty when not stored
  std::vector<int32_t> topk_ids;     // (n_tokens, top_k)
  std::vector<float> topk_weights;   // (n_tokens, top_k)
  std::vector<uint8_t> dropped;      // (n_tokens, top_k); empty when capacity was not enforced
};

struct AllToAllRecord {
  int32_t layer = 0;
  int32_t n_ranks = 0;
  std::vector<int64_t> tokens;  // (n_ranks, n_ranks) source-major
  std::vector<int64_t> bytes;   // (n_ranks, n_ranks)
  double measured_us = 0;
  double modeled_us = 0;
};

struct StepRecord {
  StepInfo info;
  double start_us = 0;  // from the run's start, on the recorder's clock
  double duration_us = 0;
  std::vector<LayerRouting> routing;
  std::vector<PhaseTiming> timings;
  std::vector<AllToAllRecord> all_to_all;
  std::vector<OffloadEvent> offload;  // one per MoE layer that looked experts up (offloaded CUDA runs)

  int64_t size_bytes() const;
};

}  // namespace moescope::sessions
