// Offload what-if (issue #17) as a curve: per policy (LRU, LFU, and Belady's optimum), the hit
// rate of a per-layer expert cache against its size, from the selected run's routing replayed
// through core/analysis/offload_whatif (the same definition as `moescope offload`). The sweep runs
// off the UI thread. [SECTION] index: work, plot, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/colormap.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

// Each point of the curve replays the whole run through every layer's cache, once per policy, so
// the number of cache sizes swept is bounded by a budget of cache lookups (a few seconds on one
// core): every size for small models, at least 5 points (1, 4, 16, 64, 256) for a DeepSeek-V3-sized run.
constexpr int32_t kMaxCurvePoints = 33, kMinCurvePoints = 5;
constexpr double kLookupBudget = 6e7;

//-----------------------------------------------------------------------------
// [SECTION] work (off the UI thread)
//-----------------------------------------------------------------------------

// Every size when the budget allows; else sizes spaced geometrically from 1 to n_experts, since a
// curve changes most at small caches.
std::vector<int32_t> swept_sizes(int32_t n_experts, int64_t lookups) {
  const double affordable = kLookupBudget / (3.0 * static_cast<double>(std::max<int64_t>(1, lookups)));
  const auto points = static_cast<int32_t>(
      std::clamp(affordable, static_cast<double>(kMinCurvePoints), static_cast<double>(kMaxCurvePoints)));
  std::vector<int32_t> sizes;
  if (n_experts <= points) {
    for (int32_t c = 1; c <= n_experts; ++c) sizes.push_back(c);
    return sizes;
  }
  for (int32_t i = 0; i < points; ++i) {
    const auto c = static_cast<int32_t>(
        std::lround(std::pow(static_cast<double>(n_experts), static_cast<double>(i) / (points - 1))));
    if (sizes.empty() || c > sizes.back()) sizes.push_back(c);
  }
  return sizes;
}

OffloadCurves sweep(const std::shared_ptr<RunData>& run) {
  const analysis::ExpertLookupTrace trace = analysis::expert_lookup_trace(run->routing);
  OffloadCurves out;
  out.n_experts = trace.n_experts;
  out.n_layers = static_cast<int32_t>(trace.lookups.size());
  for (const auto& l : trace.lookups) out.lookups += static_cast<int64_t>(l.size());
  const std::vector<int32_t> sizes = swept_sizes(trace.n_experts, out.lookups);
  out.curves = analysis::hit_rate_curves(trace, kAllCachePolicies, sizes);
  return out;
}

//-----------------------------------------------------------------------------
// [SECTION] plot
//-----------------------------------------------------------------------------

void draw_curves(const OffloadCurves& c, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  const float font = ImGui::GetFontSize();
  const float x0 = p.x + font * 3.5f, x1 = p.x + size.x - font, y0 = p.y + font * 0.5f,
              y1 = p.y + size.y - font * 2.6f;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled),
              grid = ImGui::GetColorU32(ImGuiCol_Border, 0.4f);
  // Cache size on a log2 axis: the curve's shape is in its small sizes.
  const double log_span = std::max(1.0, std::log2(static_cast<double>(std::max(2, c.n_experts))));
  auto px = [&](double cap) {
    return x0 + static_cast<float>(std::log2(std::max(1.0, cap)) / log_span) * (x1 - x0);
  };
  auto py = [&](double rate) { return y1 - static_cast<float>(rate) * (y1 - y0); };
  char buf[32];
  for (int i = 0; i <= 5; ++i) {  // hit rate 0, 20, ..., 100 %
    const float y = py(i / 5.0);
    dl->AddLine(ImVec2(x0, y), ImVec2(x1, y), grid);
    std::snprintf(buf, sizeof buf, "%d%%", i * 20);
    dl->AddText(ImVec2(x0 - ImGui::CalcTextSize(buf).x - 4, y - font * 0.5f), axis, buf);
  }
  for (int32_t cap = 1; cap <= c.n_experts;
       cap = cap * 2 > c.n_experts && cap < c.n_experts ? c.n_experts : cap * 2) {
    const float x = px(cap);
    dl->AddLine(ImVec2(x, y1), ImVec2(x, y1 + 4), axis);
    std::snprintf(buf, sizeof buf, "%d", cap);
    dl->AddText(ImVec2(x - ImGui::CalcTextSize(buf).x * 0.5f, y1 + 5), axis, buf);
  }
  const char* xlabel = "cache size (expert slots per MoE layer, log scale)";
  dl->AddText(ImVec2((x0 + x1 - ImGui::CalcTextSize(xlabel).x) * 0.5f, y1 + font * 1.4f),
              ImGui::GetColorU32(ImGuiCol_Text), xlabel);
  dl->AddRect(ImVec2(x0, y0), ImVec2(x1, y1), axis);
  // Hover: the sizes under the mouse, every policy's rate there.
  const ImVec2 m = ImGui::GetIO().MousePos;
  int hovered = -1;
  for (size_t k = 0; k < c.curves.size(); ++k) {
    const auto& curve = c.curves[k];
    const ImU32 col = categorical_color(static_cast<int32_t>(k) * 3);
    // Policies often tie (LRU and LFU on short runs): earlier curves are drawn wider, so a curve
    // under another still shows as its edges.
    const float width = 2.0f + 2.0f * static_cast<float>(c.curves.size() - 1 - k);
    for (size_t i = 0; i + 1 < curve.capacities.size(); ++i) {
      dl->AddLine(ImVec2(px(curve.capacities[i]), py(curve.hit_rates[i])),
                  ImVec2(px(curve.capacities[i + 1]), py(curve.hit_rates[i + 1])), col, width);
    }
    for (size_t i = 0; i < curve.capacities.size(); ++i) {
      const ImVec2 q(px(curve.capacities[i]), py(curve.hit_rates[i]));
      dl->AddCircleFilled(q, 2.5f, col);
      if (k == 0 && std::fabs(m.x - q.x) < std::max(3.0f, (x1 - x0) / (2.0f * curve.capacities.size())) &&
          m.y >= y0 && m.y <= y1) {
        hovered = static_cast<int>(i);
      }
    }
    const std::string name(cache_policy_name(curve.policy));
    const float ly = y0 + font * 0.4f + static_cast<float>(k) * font * 1.3f;
    dl->AddLine(ImVec2(x1 - font * 7, ly + font * 0.5f), ImVec2(x1 - font * 5.5f, ly + font * 0.5f), col,
                3.0f);
    dl->AddText(ImVec2(x1 - font * 5.2f, ly), ImGui::GetColorU32(ImGuiCol_Text), name.c_str());
  }
  if (hovered >= 0 && ImGui::IsWindowHovered()) {
    ImGui::BeginTooltip();
    ImGui::Text("%d slots per layer", c.curves.front().capacities[static_cast<size_t>(hovered)]);
    for (const auto& curve : c.curves) {
      ImGui::Text("%-7s %.1f%% hits", std::string(cache_policy_name(curve.policy)).c_str(),
                  100.0 * curve.hit_rates[static_cast<size_t>(hovered)]);
    }
    ImGui::EndTooltip();
  }
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_offload_view(AppState& app) {
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0 || run->routing.n_layers == 0) {
    draw_empty_hint(app.doc ? "Select a run with routing in the sidebar"
                            : "Open a session (File > Open session) or start a run");
    return;
  }
  if (run->summary.id < 0) {
    draw_empty_hint("The hit-rate curve is computed once the run has finished");
    return;
  }
  OffloadState& s = app.offload;
  s.job.ensure(run_data_key(*run), [run] { return sweep(run); });
  ImGui::TextUnformatted("Expert offloading: hit rate of a per-layer expert cache against its size");
  ImGui::TextDisabled(
      "each step looks up the experts its tokens chose, per MoE layer; a miss copies the expert in "
      "(docs/offload.md)");
  if (s.job.running()) {
    ImGui::TextDisabled("replaying run %lld through LRU, LFU and Belady caches of every size...",
                        static_cast<long long>(run->summary.id));
    return;
  }
  if (!s.job.error().empty()) {
    ImGui::TextWrapped("%s", s.job.error().c_str());
    return;
  }
  const OffloadCurves* c = s.job.result();
  if (!c || c->curves.empty()) return;
  ImGui::Text("run %lld: %lld expert lookups over %d MoE layers, %d experts each",
              static_cast<long long>(run->summary.id), static_cast<long long>(c->lookups), c->n_layers,
              c->n_experts);
  draw_curves(*c, ImGui::GetContentRegionAvail());
}

}  // namespace moescope::ui
