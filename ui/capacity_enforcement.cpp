#include "ui/capacity_enforcement.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

namespace moescope::ui {

EnforcementSummary summarize_enforcement(const RunData& run) {
  EnforcementSummary s;
  const auto& r = run.routing;
  s.enforced = run.enforce_capacity_factor > 0;
  s.capacity_factor = run.enforce_capacity_factor;
  s.assignments = static_cast<int64_t>(r.n_layers) * r.n_tokens * r.top_k;
  for (int32_t d : run.dropped_per_token) {
    s.dropped += d;
    s.tokens_with_drops += d > 0 ? 1 : 0;
  }
  double sum = 0;
  for (size_t t = 0; t < run.kl_to_dropless.size(); ++t) {
    const double kl = run.kl_to_dropless[t];
    if (std::isnan(kl)) continue;
    ++s.kl_tokens;
    sum += kl;
    if (s.kl_max_token < 0 || kl > s.kl_max) s.kl_max = kl, s.kl_max_token = static_cast<int32_t>(t);
  }
  s.kl_mean = s.kl_tokens > 0 ? sum / s.kl_tokens : 0;
  return s;
}

void draw_enforcement_line(const EnforcementSummary& s) {
  if (!s.enforced) return;
  const double share =
      s.assignments > 0 ? 100.0 * static_cast<double>(s.dropped) / static_cast<double>(s.assignments) : 0;
  ImGui::TextColored(ImVec4(1.0f, 0.75f, 0.35f, 1.0f), "capacity enforced at C = %.2f:", s.capacity_factor);
  ImGui::SameLine();
  if (s.kl_tokens > 0) {
    ImGui::Text(
        "%lld of %lld assignments dropped (%.2f%%, %d tokens); KL to dropless mean %.4g, max %.4g nats "
        "(token %d)",
        static_cast<long long>(s.dropped), static_cast<long long>(s.assignments), share, s.tokens_with_drops,
        s.kl_mean, s.kl_max, s.kl_max_token);
  } else {
    ImGui::Text("%lld of %lld assignments dropped (%.2f%%, %d tokens); no KL to dropless recorded",
                static_cast<long long>(s.dropped), static_cast<long long>(s.assignments), share,
                s.tokens_with_drops);
  }
}

void draw_enforcement_tooltip(const RunData& run, int32_t t) {
  const auto i = static_cast<size_t>(t);
  const bool has_drops = i < run.dropped_per_token.size();
  const bool has_kl = i < run.kl_to_dropless.size() && !std::isnan(run.kl_to_dropless[i]);
  if (!has_drops && !has_kl) return;
  ImGui::Separator();
  if (has_drops) {
    ImGui::Text("capacity C = %.2f dropped %d of its %d assignments", run.enforce_capacity_factor,
                run.dropped_per_token[i], run.routing.n_layers * run.routing.top_k);
  }
  if (has_kl) ImGui::Text("KL to dropless %.4g nats", run.kl_to_dropless[i]);
}

}  // namespace moescope::ui
