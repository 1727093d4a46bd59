// Offload what-if (issue #17) as a curve: per policy (LRU, LFU, and Belady's optimum), the hit
// rate of a per-layer expert cache against its size, from the selected run's routing replayed
// through core/analysis/offload_whatif (the same definition as `moescope offload`). The sweep runs
// off the UI thread. A run recorded with offloaded experts (CUDA --offload-experts) also shows what
// its cache did: its point on the curve and its hit rate per MoE layer over the run.
// [SECTION] index: work, plot, recorded, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "core/analysis/offload_profile.h"
#include "ui/colormap.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

// Each point of the curve replays the whole run through every layer's cache, once per policy, so
// the number of cache sizes swept is bounded by a budget of cache lookups (a few seconds on one
// core): every size for small models, at least 5 points (1, 4, 16, 64, 256) for a DeepSeek-V3-sized run.
constexpr int32_t kMaxCurvePoints = 33, kMinCurvePoints = 5;
constexpr double kLookupBudget = 6e7;
// Columns of the recorded hit-rate grid: spans of the run's steps.
constexpr int32_t kRecordedSpans = 48;

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

// The recorded cache on the curve: its size and the run's hit rate (0 slots: not recorded).
struct RecordedPoint {
  int32_t slots = 0;
  double hit_rate = 0;
};

void draw_curves(const OffloadCurves& c, ImVec2 size, RecordedPoint recorded = {}) {
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
  if (recorded.slots > 0) {
    // A ring in the text colour, so it stands out from every policy's colour.
    const ImVec2 q(px(recorded.slots), py(recorded.hit_rate));
    dl->AddCircle(q, 6.0f, ImGui::GetColorU32(ImGuiCol_Text), 0, 2.5f);
    dl->AddText(ImVec2(q.x + 8, q.y - font), ImGui::GetColorU32(ImGuiCol_Text), "recorded");
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

//-----------------------------------------------------------------------------
// [SECTION] recorded (runs with offloaded experts)
//-----------------------------------------------------------------------------

// What the engine's cache did: per MoE layer (rows) over the run (columns: spans of steps), the
// hit rate coloured from dark (0) to bright (1), and each layer's rate over the whole run as a bar
// at the right.
void draw_recorded_grid(const analysis::OffloadHitGrid& g, const analysis::OffloadProfile& p,
                        ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 o = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  if (g.layers.empty() || g.n_bins == 0) return;
  const float font = ImGui::GetFontSize();
  const float x0 = o.x + font * 3.0f, bars_w = font * 5.0f, x1 = o.x + size.x - bars_w - font * 0.5f;
  const float y0 = o.y, y1 = o.y + size.y - font * 1.5f;
  const float cell_w = (x1 - x0) / static_cast<float>(g.n_bins), cell_h = (y1 - y0) / static_cast<float>(g.layers.size());
  const ColorLut& lut = colormap_lut(Colormap::viridis);
  const ImU32 empty = ImGui::GetColorU32(ImGuiCol_FrameBg), axis = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const ImVec2 m = ImGui::GetIO().MousePos;
  int hovered_layer = -1, hovered_bin = -1;
  for (size_t l = 0; l < g.layers.size(); ++l) {
    const float ya = y0 + cell_h * static_cast<float>(l), yb = ya + std::max(1.0f, cell_h);
    for (int32_t b = 0; b < g.n_bins; ++b) {
      const double rate = g.hit_rate(l, b);
      const float xa = x0 + cell_w * static_cast<float>(b), xb = xa + std::max(1.0f, cell_w);
      dl->AddRectFilled(ImVec2(xa, ya), ImVec2(xb, yb), rate < 0 ? empty : lut[static_cast<size_t>(std::lround(rate * 255))]);
      if (m.x >= xa && m.x < xb && m.y >= ya && m.y < yb) hovered_layer = static_cast<int>(l), hovered_bin = b;
    }
    const double total = p.layers[l].hit_rate();
    dl->AddRectFilled(ImVec2(x1 + font * 0.5f, ya), ImVec2(x1 + font * 0.5f + static_cast<float>(total) * bars_w, yb - 1),
                      categorical_color(0));
    if (cell_h >= font) {  // the rate itself where a row has room for it
      char rate[16];
      std::snprintf(rate, sizeof rate, "%.0f%%", 100.0 * total);
      dl->AddText(ImVec2(x1 + font * 0.7f, ya + (cell_h - font) * 0.5f), IM_COL32_WHITE, rate);
    }
  }
  char buf[48];
  // Layer labels where they fit: every n-th row.
  const int every = std::max(1, static_cast<int>(std::ceil(font / std::max(1.0f, cell_h))));
  for (size_t l = 0; l < g.layers.size(); l += static_cast<size_t>(every)) {
    std::snprintf(buf, sizeof buf, "L%d", g.layers[l]);
    dl->AddText(ImVec2(o.x, y0 + cell_h * static_cast<float>(l) + (cell_h - font) * 0.5f), axis, buf);
  }
  std::snprintf(buf, sizeof buf, "step %lld", static_cast<long long>(g.first_step));
  dl->AddText(ImVec2(x0, y1 + 2), axis, buf);
  std::snprintf(buf, sizeof buf, "step %lld", static_cast<long long>(g.last_step));
  dl->AddText(ImVec2(x1 - ImGui::CalcTextSize(buf).x, y1 + 2), axis, buf);
  dl->AddText(ImVec2(x1 + font * 0.5f, y1 + 2), axis, "whole run");
  if (hovered_layer >= 0 && ImGui::IsWindowHovered()) {
    const auto l = static_cast<size_t>(hovered_layer);
    const size_t i = l * static_cast<size_t>(g.n_bins) + static_cast<size_t>(hovered_bin);
    const int64_t span = g.last_step - g.first_step + 1;
    const int64_t first = g.first_step + (hovered_bin * span + g.n_bins - 1) / g.n_bins;
    const int64_t last = g.first_step + ((hovered_bin + 1) * span + g.n_bins - 1) / g.n_bins - 1;
    ImGui::BeginTooltip();
    ImGui::Text("layer %d, steps %lld-%lld", g.layers[l], static_cast<long long>(first), static_cast<long long>(last));
    if (g.lookups[i] > 0)
      ImGui::Text("%.1f%% hits (%lld of %lld lookups)", 100.0 * g.hit_rate(l, hovered_bin),
                  static_cast<long long>(g.hits[i]), static_cast<long long>(g.lookups[i]));
    else
      ImGui::TextDisabled("no lookups");
    ImGui::TextDisabled("whole run: %.1f%% hits", 100.0 * p.layers[l].hit_rate());
    ImGui::EndTooltip();
  }
}

// The what-if's rate for the recorded cache's policy and size, where the curve has that point.
std::optional<double> whatif_rate_at(const OffloadCurves& c, const std::string& policy, int32_t slots) {
  for (const auto& curve : c.curves) {
    if (cache_policy_name(curve.policy) != policy) continue;
    for (size_t i = 0; i < curve.capacities.size(); ++i)
      if (curve.capacities[i] == slots) return curve.hit_rates[i];
  }
  return std::nullopt;
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
  if (run->offload.empty()) {
    draw_curves(*c, ImGui::GetContentRegionAvail());
    return;
  }
  // A run recorded with offloaded experts: the engine's own cache beside the what-if.
  if (s.recorded_key != run_data_key(*run)) {
    s.recorded = analysis::summarise_offload(run->offload);
    s.grid = analysis::offload_hit_grid(run->offload, kRecordedSpans);
    s.recorded_key = run_data_key(*run);
  }
  const analysis::OffloadProfile& profile = s.recorded;
  const double rate = profile.run.hit_rate();
  std::string line = "recorded";
  if (run->offload_slots > 0) line += " (" + run->offload_policy + ", " + std::to_string(run->offload_slots) + " slots per layer)";
  char buf[160];
  std::snprintf(buf, sizeof buf, ": %.1f%% hits, %.2f GB copied, copy %.1f ms, stall %.1f ms", 100.0 * rate,
                static_cast<double>(profile.run.bytes_copied) / 1e9, profile.run.copy_us / 1e3, profile.run.stall_us / 1e3);
  line += buf;
  if (const auto whatif = whatif_rate_at(*c, run->offload_policy, run->offload_slots)) {
    std::snprintf(buf, sizeof buf, "; the what-if gives %.1f%%", 100.0 * *whatif);
    line += buf;
  }
  ImGui::TextUnformatted(line.c_str());
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float curve_w = avail.x * 0.55f;
  ImGui::BeginChild("##whatif", ImVec2(curve_w, avail.y), false);
  draw_curves(*c, ImGui::GetContentRegionAvail(), {run->offload_slots, rate});
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##recorded", ImVec2(0, avail.y), false);
  ImGui::TextUnformatted("recorded hit rate per MoE layer over the run");
  draw_recorded_grid(s.grid, profile, ImGui::GetContentRegionAvail());
  ImGui::EndChild();
}

}  // namespace moescope::ui
