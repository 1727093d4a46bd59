#include "sessions/step_record.h"

namespace moescope::sessions {

int64_t StepRecord::size_bytes() const {
  int64_t bytes = sizeof(StepRecord) + static_cast<int64_t>(timings.size() * sizeof(PhaseTiming) +
                                                             offload.size() * sizeof(OffloadEvent));
  for (const LayerRouting& layer : routing) {
    bytes +=
        sizeof(LayerRouting) +
        static_cast<int64_t>((layer.scores.size() + layer.router_logits.size() + layer.topk_weights.size()) *
                             sizeof(float)) +
        static_cast<int64_t>(layer.topk_ids.size() * sizeof(int32_t) + layer.dropped.size());
  }
  for (const AllToAllRecord& exchange : all_to_all) {
    bytes +=
        sizeof(AllToAllRecord) + static_cast<int64_t>((exchange.tokens.size() + exchange.bytes.size()) * 8);
  }
  return bytes;
}

}  // namespace moescope::sessions
