// Expert offloading (EngineOptions::offload_experts): a model whose routed experts do not fit in
// GPU memory keeps them in pinned host memory (DeviceModel::host_experts) and holds `slots` of them
// per MoE layer in a GPU cache, managed by core/expert_cache.h (the policy the offload what-if
// replays). After each router the engine names the layer's experts; the missing ones are copied in
// on a copy stream while the compute stream waits only where a kernel reads them. A step whose
// experts outnumber the slots runs in rounds of at most `slots` experts.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/engine.h"
#include "core/expert_cache.h"
#include "core/observer.h"
#include "gpu/device_model.h"
#include "gpu/memory_budget.h"

namespace moescope::gpu {

struct OffloadBudget {
  int32_t slots = 0;               // cached experts per MoE layer
  int64_t expert_bytes = 0;        // one routed expert on the device (gate_up + down, scales included)
  int64_t resident_bytes = 0;      // weights without the routed experts, KV cache, workspace
  int64_t cache_bytes = 0;         // slots x MoE layers x expert_bytes
  int64_t host_bytes = 0;          // every routed expert, pinned
};

// The cache that fits `available` device bytes beside everything else of `budget`, capped at the
// layer's experts and, when > 0, at EngineOptions::expert_cache_slots. ResourceError naming the
// sizes when not even one slot per MoE layer fits beside the non-expert part.
OffloadBudget plan_expert_offload(const ModelConfig& config, const EngineOptions& options,
                                  const DeviceMemoryBudget& budget, int64_t available, bool under_cap);

class ExpertOffload {
 public:
  // `model` holds the experts in host memory (upload/make_synthetic with experts_on_host).
  ExpertOffload(const ModelConfig& config, const DeviceModel& model, std::vector<int32_t> moe_layers, int32_t slots,
                CachePolicy policy);
  ~ExpertOffload();
  ExpertOffload(const ExpertOffload&) = delete;
  ExpertOffload& operator=(const ExpertOffload&) = delete;

  int32_t slots() const { return slots_; }
  // The layer's cache slots as an expert block: kernels index it by slot.
  ExpertBlocks blocks(int moe_index) const;

  // At the start of a step, on the compute stream: the origin of the events' copy and stall
  // intervals (the phase timings' origin is recorded right after it).
  void begin_step(cudaStream_t compute);
  // A step's lookups of one layer: `experts` distinct, in order of first use; counts hits.
  void begin_layer(int moe_index, std::span<const int32_t> experts);
  // The next at most `max_experts` experts of the layer made resident (cached ones first, then
  // copies on the copy stream that `compute` waits for), as (expert, slot); empty when done.
  std::vector<std::pair<int32_t, int32_t>> next_round(int max_experts, cudaStream_t compute);
  // After the round's kernels are enqueued on `compute`: their slots may be refilled after them.
  void end_round(cudaStream_t compute);
  // --offload-prefetch, before the layer's lookups: starts copying the missing ones of `experts`
  // (predicted) on the copy stream, at most `slots` of them, evicting by the policy as a miss would.
  // The layer's first round then waits for these copies; its lookups of them count as hits and
  // as prefetch hits. Counts no lookup.
  void prefetch(int moe_index, std::span<const int32_t> experts);

  // After the step's work has finished: one event per MoE layer that looked experts up, and the
  // counters reset for the next step.
  std::vector<OffloadEvent> take_step(int64_t step);

 private:
  struct Layer {
    explicit Layer(ExpertCache c) : cache(std::move(c)) {}
    ExpertCache cache;
    std::vector<int32_t> slot_of;        // (E) slot holding the expert, -1 when not cached
    std::vector<int32_t> free_slots;
    std::vector<cudaEvent_t> slot_done;  // (slots) after the last kernels reading the slot
    cudaEvent_t copy_start = nullptr, copy_end = nullptr, ready = nullptr;
    char* gate_up = nullptr;             // (slots) device copies, stride gate_up_bytes
    char* down = nullptr;                // (slots) stride down_bytes
    int32_t lookups = 0, hits = 0;
    int32_t prefetched = 0, prefetch_hits = 0;
    std::vector<uint8_t> prefetched_expert;  // (E) 1 while a prefetched expert awaits its lookup
    cudaEvent_t prefetch_end = nullptr;      // after the layer's prefetch copies
    bool prefetch_pending = false;           // the next round must wait for prefetch_end
    int64_t bytes = 0;
    bool copied = false, waited = false;
  };

  const ModelConfig& config_;
  const DeviceModel& model_;
  std::vector<int32_t> moe_layers_;
  int32_t slots_;
  int64_t gate_up_bytes_ = 0, down_bytes_ = 0;  // one expert's share of each block
  DeviceBuffer arena_;
  cudaStream_t copy_stream_ = nullptr;
  cudaEvent_t step_start_ = nullptr;
  bool step_started_ = false;
  std::vector<Layer> layers_;
  int current_ = -1;                                  // the layer between begin_layer and its last round
  std::vector<int32_t> pending_;                      // its experts still to run
  std::vector<std::pair<int32_t, int32_t>> round_;    // (expert, slot) of the round in flight
  // Copies expert `e` of layer `L` into a slot (a free one, else the policy's victim outside
  // `keep`); false when every cached expert is kept.
  bool copy_in(Layer& L, int moe_index, int32_t e, std::span<const int32_t> keep);
};

}  // namespace moescope::gpu
