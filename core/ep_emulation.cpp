#include "core/ep_emulation.h"

#include <string>

#include "core/error.h"

namespace moescope {

std::optional<EpEmulation> make_ep_emulation(const ModelConfig& config, const EngineOptions& options) {
  if (options.ep_degree <= 1) return std::nullopt;
  const auto link = analysis::interconnect_preset(options.ep_interconnect);
  if (!link)
    fail_input("unknown interconnect \"" + options.ep_interconnect + "\" (expected nvlink4, pcie5 or ib400)");
  if (!options.expert_to_rank.empty() &&
      static_cast<int64_t>(options.expert_to_rank.size()) != config.n_routed_experts) {
    fail_input("expert placement: the map has " + std::to_string(options.expert_to_rank.size()) +
               " entries, expected one per routed expert (" + std::to_string(config.n_routed_experts) + ")");
  }
  EpEmulation ep;
  ep.interconnect = *link;
  ep.placement =
      options.expert_to_rank.empty()
          ? analysis::contiguous_placement(static_cast<int32_t>(config.n_routed_experts), options.ep_degree)
          : analysis::placement_from_map(options.expert_to_rank, options.ep_degree);
  return ep;
}

void report_emulated_all_to_all(const EpEmulation& ep, int64_t step, int32_t layer,
                                std::span<const int32_t> topk_ids, int32_t n_tokens, int32_t top_k,
                                int64_t hidden_size, double measured_us, ForwardObserver& observer) {
  const auto traffic = analysis::step_traffic(topk_ids, n_tokens, top_k, ep.placement, hidden_size, 2);
  AllToAllEvent event;
  event.step = step;
  event.layer = layer;
  event.n_ranks = traffic.n_ranks;
  event.tokens = traffic.dispatch_tokens;
  event.bytes = traffic.dispatch_bytes;
  event.measured_us = measured_us;
  event.modeled_us = analysis::modeled_step_us(traffic, ep.interconnect);
  observer.on_all_to_all(event);
}

}  // namespace moescope
