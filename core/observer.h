// What an engine reports while it runs: routing per MoE layer, phase timings, all-to-all traffic.
// One interface consumed by the session recorder and the UI; both engines (CPU, CUDA) call it from
// the thread that called Engine::forward, after the step's data are on the host.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace moescope {

enum class Phase : uint8_t {
  embed,
  attention,
  router,
  dispatch,
  experts,
  shared_experts,
  combine,
  all_to_all,
  dense_mlp,
  lm_head,
};
inline constexpr int kPhaseCount = 10;
std::string_view phase_name(Phase phase);  // "attention", "router", ... (also NVTX range names)

struct StepInfo {
  int64_t step = 0;            // forward-step index since the engine's last reset
  int64_t first_position = 0;  // position of the step's first token
  int32_t n_tokens = 0;        // prefill: the prompt; decode: 1
};

struct RoutingEvent {
  int64_t step = 0;
  int32_t layer = 0;  // the model's own layer index
  int64_t first_position = 0;
  int32_t n_tokens = 0;
  int32_t n_experts = 0;
  int32_t top_k = 0;
  std::span<const float> router_logits;  // (n_tokens, n_experts) gate output before scoring
  std::span<const float> scores;         // (n_tokens, n_experts) after softmax/sigmoid, no bias
  std::span<const int32_t> topk_ids;     // (n_tokens, top_k) chosen experts, best first
  std::span<const float> topk_weights;   // (n_tokens, top_k) final combine weights
  std::span<const uint8_t> dropped;      // (n_tokens, top_k) 1 where enforced capacity dropped it; empty when not enforced
};

struct PhaseTiming {
  int64_t step = 0;
  int32_t layer = -1;  // -1 for phases outside the layers (embed, lm_head)
  Phase phase = Phase::attention;
  double start_us = 0;     // from the start of the step
  double duration_us = 0;
};

struct AllToAllEvent {
  int64_t step = 0;
  int32_t layer = 0;
  int32_t n_ranks = 0;
  std::span<const int64_t> tokens;  // (n_ranks, n_ranks) source-major: tokens[src*n_ranks+dst]
  std::span<const int64_t> bytes;   // (n_ranks, n_ranks) dispatch payload bytes
  double measured_us = 0;           // the exchange as performed (0 when only modelled)
  double modeled_us = 0;            // on the configured interconnect
};

// The CUDA engine with routed experts offloaded to host memory (EngineOptions::offload_experts): one
// MoE layer's expert cache in one step. Lookups are the distinct experts the step's tokens chose in
// the layer (as core/analysis/offload_whatif.h defines them); each miss copies one expert in.
struct OffloadEvent {
  int64_t step = 0;
  int32_t layer = 0;  // the model's own layer index
  int32_t lookups = 0;
  int32_t hits = 0;
  // --offload-prefetch: experts of this layer whose copies began ahead, during the previous MoE
  // layer, from the experts the next router predicted; and the lookups that hit one of them.
  int32_t prefetched = 0;
  int32_t prefetch_hits = 0;
  int64_t bytes_copied = 0;  // host -> device, prefetched experts included
  // Intervals from the start of the step (like PhaseTiming::start_us); zero when nothing was copied.
  double copy_start_us = 0;  // the first copy's start on the copy stream
  double copy_us = 0;        // copy stream: the first copy's start to the last one's end
  double stall_start_us = 0; // when the layer's expert kernels began waiting for those copies
  double stall_us = 0;       // how long the layer's expert kernels waited for those copies
};

struct ForwardObserver {
  virtual ~ForwardObserver() = default;
  virtual void on_step_begin(const StepInfo&) {}
  virtual void on_routing(const RoutingEvent&) {}
  virtual void on_timing(const PhaseTiming&) {}
  virtual void on_all_to_all(const AllToAllEvent&) {}
  virtual void on_offload(const OffloadEvent&) {}
  // `logits` (n_tokens, vocab) when the step computed them for every token, else the last row.
  virtual void on_step_end(const StepInfo&, std::span<const float> /*logits*/) {}
};

}  // namespace moescope
