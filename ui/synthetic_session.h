// A generated session with realistic structure (tag-specific expert preferences, routing that
// persists across neighbouring tokens, phase timings, EP traffic, optionally offloaded experts), for demos, screenshots and
// the frame-time benchmark at sizes no small checkpoint produces.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ui/session_data.h"

namespace moescope::ui {

struct SyntheticSpec {
  int32_t n_tokens = 2000;  // of the first (largest) run
  int32_t n_experts = 64;
  int32_t n_layers = 8;
  int32_t top_k = 0;      // 0: 2 for up to 16 experts, else 8
  int32_t n_runs = 4;     // tags cycle through code, poetry, math, prose
  int32_t ep_degree = 4;  // ranks of the emulated expert parallelism
  uint64_t seed = 7;
  // > 0: runs offload their experts behind an LRU cache of this many slots per layer, with the
  // expert cache's counters and copy/stall intervals per step and layer (RunData::offload).
  int32_t offload_slots = 0;
};

// Parses "TOKENSxEXPERTS" or "TOKENSxEXPERTSxLAYERS" (e.g. 10000x256x8); InputError otherwise.
SyntheticSpec parse_synthetic_spec(const std::string& text);

std::unique_ptr<SessionSource> make_synthetic_source(const SyntheticSpec& spec);

// One synthetic run, also used by tests to feed the sessions writer.
std::shared_ptr<RunData> make_synthetic_run(const SyntheticSpec& spec, int64_t run_id, const std::string& tag,
                                            int32_t n_tokens);

}  // namespace moescope::ui
