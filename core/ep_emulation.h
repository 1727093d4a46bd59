// Emulated expert parallelism, shared by the engines: where experts live and the modelled fabric,
// from EngineOptions; and the all-to-all a step's routing implies, reported to the observer. One
// device runs every expert: the traffic is counted and its time on the fabric modelled; the CUDA
// engine also performs the exchange between rank buffers in device memory and times it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/analysis/ep_placement.h"
#include "core/analysis/ep_traffic.h"
#include "core/engine.h"
#include "core/model_config.h"
#include "core/observer.h"

namespace moescope {

struct EpEmulation {
  analysis::ExpertPlacement placement;
  analysis::Interconnect interconnect;
};

// nullopt for ep_degree <= 1; InputError for an unknown interconnect or an expert_to_rank map
// that is not one valid rank per routed expert.
std::optional<EpEmulation> make_ep_emulation(const ModelConfig& config, const EngineOptions& options);

// One MoE layer's dispatch: topk_ids (n_tokens, top_k), bf16 activations as a real deployment
// sends them, with the modelled dispatch + combine time and the engine's `measured_us` for the
// exchange it performed (0 where it performed none).
void report_emulated_all_to_all(const EpEmulation& ep, int64_t step, int32_t layer,
                                std::span<const int32_t> topk_ids, int32_t n_tokens, int32_t top_k,
                                int64_t hidden_size, double measured_us, ForwardObserver& observer);

}  // namespace moescope
