// Hands every engine event to several observers (the recorder and a live view, say).
#pragma once

#include <vector>

#include "core/observer.h"

namespace moescope {

struct ObserverFanout final : ForwardObserver {
  std::vector<ForwardObserver*> targets;
  void on_step_begin(const StepInfo& s) override {
    for (auto* t : targets) t->on_step_begin(s);
  }
  void on_routing(const RoutingEvent& e) override {
    for (auto* t : targets) t->on_routing(e);
  }
  void on_timing(const PhaseTiming& p) override {
    for (auto* t : targets) t->on_timing(p);
  }
  void on_all_to_all(const AllToAllEvent& e) override {
    for (auto* t : targets) t->on_all_to_all(e);
  }
  void on_offload(const OffloadEvent& e) override {
    for (auto* t : targets) t->on_offload(e);
  }
  void on_step_end(const StepInfo& s, std::span<const float> logits) override {
    for (auto* t : targets) t->on_step_end(s, logits);
  }
};

// Counts expert hits per (layer, expert) over everything it sees, and the assignments capacity
// enforcement dropped.
struct ExpertHitCounter final : ForwardObserver {
  int32_t n_experts = 0;
  std::vector<std::vector<int64_t>> hits;  // (layer) -> (n_experts); empty rows for dense layers
  int64_t assignments = 0;  // chosen (token, expert) pairs over all layers and steps
  int64_t dropped = 0;      // of which capacity dropped
  void on_routing(const RoutingEvent& e) override {
    if (static_cast<size_t>(e.layer) >= hits.size()) hits.resize(static_cast<size_t>(e.layer) + 1);
    auto& row = hits[static_cast<size_t>(e.layer)];
    row.resize(static_cast<size_t>(e.n_experts), 0);
    n_experts = e.n_experts;
    for (int32_t id : e.topk_ids)
      if (id >= 0) ++row[static_cast<size_t>(id)], ++assignments;  // -1: an empty slot of a forced routing
    for (uint8_t d : e.dropped) dropped += d;
  }
};

}  // namespace moescope
