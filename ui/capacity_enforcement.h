// What capacity enforcement did to a run recorded with `--enforce-capacity C`: the factor, the
// assignments it dropped, and the KL of each next-token distribution to the dropless run's
// (tokens.kl_to_dropless). The summary is plain data (tested on its own); the two draw functions
// put it in the Tokens and Load balance headers and in the token tooltip.
#pragma once

#include <cstdint>

#include "ui/session_data.h"

namespace moescope::ui {

struct EnforcementSummary {
  bool enforced = false;
  double capacity_factor = 0;
  int64_t dropped = 0;      // assignments dropped, all layers and tokens
  int64_t assignments = 0;  // n_layers * n_tokens * top_k
  int32_t tokens_with_drops = 0;
  int32_t kl_tokens = 0;  // tokens with a KL value
  double kl_mean = 0, kl_max = 0;
  int32_t kl_max_token = -1;
};

EnforcementSummary summarize_enforcement(const RunData& run);

// One line under a view's header for an enforced run; nothing for a dropless one.
void draw_enforcement_line(const EnforcementSummary& summary);
// Lines for token `t` in the token tooltip (an enforced run, or one with KL values).
void draw_enforcement_tooltip(const RunData& run, int32_t t);

}  // namespace moescope::ui
