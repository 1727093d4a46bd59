#include "core/observer.h"

namespace moescope {

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::embed: return "embed";
    case Phase::attention: return "attention";
    case Phase::router: return "router";
    case Phase::dispatch: return "dispatch";
    case Phase::experts: return "experts";
    case Phase::shared_experts: return "shared_experts";
    case Phase::combine: return "combine";
    case Phase::all_to_all: return "all_to_all";
    case Phase::dense_mlp: return "dense_mlp";
    case Phase::lm_head: return "lm_head";
  }
  return "unknown";
}

}  // namespace moescope
