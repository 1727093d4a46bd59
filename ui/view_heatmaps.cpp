// Heatmaps, four at once, each one GL texture: router scores (experts x tokens) at a layer, load
// share (layers x experts) of the run, top-1 expert (layers x tokens, categorical) and expert
// co-activation P(j | i) at a layer. Textures are rebuilt only when their data key changes.
// [SECTION] index: textures, panels, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "ui/heatmap_image.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2))); }

uint64_t data_key(const RunData& run, uint64_t kind, int64_t layer, Colormap map) {
  uint64_t h = mix(kind, static_cast<uint64_t>(run.summary.id + 1000));
  h = mix(h, run.revision);
  h = mix(h, static_cast<uint64_t>(layer + 1));
  return mix(h, static_cast<uint64_t>(map) + 1) | 1u;
}

//-----------------------------------------------------------------------------
// [SECTION] textures
//-----------------------------------------------------------------------------

// (n_experts, n_tokens) scores at `layer`, transposed so tokens run left to right; without stored
// scores the top-k weights stand in (zeros elsewhere).
std::vector<float> experts_by_tokens(const analysis::RoutingArrays& r, int32_t layer) {
  std::vector<float> out(static_cast<size_t>(r.n_experts) * r.n_tokens, 0.0f);
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    if (r.has_scores()) {
      const float* s = r.scores.data() + r.score_offset(layer, t);
      for (int32_t e = 0; e < r.n_experts; ++e) out[static_cast<size_t>(e) * r.n_tokens + t] = s[e];
    } else {
      const size_t off = r.topk_offset(layer, t);
      for (int32_t k = 0; k < r.top_k; ++k) out[static_cast<size_t>(r.topk_ids[off + k]) * r.n_tokens + t] = r.topk_weights[off + k];
    }
  }
  return out;
}

struct Ranges {
  float score_max = 1, load_max = 1, coact_max = 1;
};

void update_textures(AppState& app, const RunData& run, const RunCache& cache, Ranges& ranges) {
  const auto& r = run.routing;
  const ColorLut& lut = colormap_lut(app.settings.colormap);
  const int32_t l = app.layer;
  // Colour scales: scores and co-activation over [0, max]; load share over [0, max share].
  ranges.load_max = std::max(1e-6f, *std::max_element(cache.summary.load_share.begin(), cache.summary.load_share.end()));
  ranges.coact_max = 1e-6f;
  for (double v : cache.coactivation.conditional) ranges.coact_max = std::max(ranges.coact_max, static_cast<float>(v));
  ranges.score_max = 1.0f;
  const uint64_t scores_key = data_key(run, 1, l, app.settings.colormap);
  if (!app.heat_scores.holds(scores_key)) {
    const auto grid = experts_by_tokens(r, l);
    float m = 1e-6f;
    for (float v : grid) m = std::max(m, v);
    app.heat_scores_max = m;
    upload_heatmap(app.heat_scores, render_heatmap(r.n_experts, r.n_tokens, grid.data(), 0.0f, m, lut, kMaxTextureSide, kMaxTextureSide), scores_key);
  }
  ranges.score_max = app.heat_scores_max;
  const uint64_t load_key = data_key(run, 2, -1, app.settings.colormap);
  if (!app.heat_load.holds(load_key)) {
    upload_heatmap(app.heat_load, render_heatmap(r.n_layers, r.n_experts, cache.summary.load_share.data(), 0.0f, ranges.load_max, lut, kMaxTextureSide, kMaxTextureSide), load_key);
  }
  const uint64_t top1_key = data_key(run, 3, -1, app.settings.colormap);
  if (!app.heat_top1.holds(top1_key)) {
    upload_heatmap(app.heat_top1, render_categorical(r.n_layers, r.n_tokens, cache.summary.top1.data(), kMaxTextureSide, kMaxTextureSide), top1_key);
  }
  const uint64_t coact_key = data_key(run, 4, l, app.settings.colormap);
  if (!app.heat_coact.holds(coact_key)) {
    std::vector<float> grid(cache.coactivation.conditional.begin(), cache.coactivation.conditional.end());
    for (int32_t e = 0; e < r.n_experts; ++e) grid[static_cast<size_t>(e) * r.n_experts + e] = NAN;  // P(i | i) = 1 says nothing
    upload_heatmap(app.heat_coact, render_heatmap(r.n_experts, r.n_experts, grid.data(), 0.0f, ranges.coact_max, lut, kMaxTextureSide, kMaxTextureSide), coact_key);
  }
}

//-----------------------------------------------------------------------------
// [SECTION] panels
//-----------------------------------------------------------------------------

void panel_title(const char* title, const char* subtitle) {
  ImGui::TextUnformatted(title);
  ImGui::SameLine();
  ImGui::TextDisabled("%s", subtitle);
}

void draw_panel(AppState& app, const char* id, const char* title, const char* subtitle, HeatmapSlot& slot,
                const HeatmapAxes& axes, ImVec2 size, float vmin, float vmax, bool categorical,
                const std::function<void(GridCell)>& tooltip) {
  ImGui::BeginChild(id, size, true);
  panel_title(title, subtitle);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float bar_w = categorical ? 0.0f : ImGui::GetFontSize() * 5.2f;
  const ImVec2 map_size(avail.x - bar_w, avail.y);
  const GridCell cell = draw_heatmap(id, slot, map_size, axes);
  if (!categorical) {
    ImGui::SameLine();
    ImGui::SetCursorPosY(ImGui::GetCursorPosY() - avail.y - ImGui::GetStyle().ItemSpacing.y);
    ImGui::SetCursorPos(ImVec2(map_size.x + ImGui::GetStyle().WindowPadding.x + 6, ImGui::GetTextLineHeightWithSpacing() + ImGui::GetStyle().WindowPadding.y));
    draw_colorbar(colormap_lut(app.settings.colormap), vmin, vmax, "", ImVec2(bar_w - 6, avail.y));
  }
  ImGui::EndChild();
  if (cell.row >= 0) tooltip(cell);
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_heatmaps_view(AppState& app) {
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0 || run->routing.n_layers == 0) {
    draw_empty_hint(app.doc ? "Select a run with routing in the sidebar" : "Open a session (File > Open session) or start a run");
    return;
  }
  draw_layer_slider(app, *run);
  ImGui::SameLine();
  ImGui::TextDisabled("wheel: zoom tokens/experts (Ctrl: rows, Shift: both)  drag: pan  double-click: reset");
  const RunCache& cache = app.cache_for(*run);
  Ranges ranges;
  update_textures(app, *run, cache, ranges);
  const auto& r = run->routing;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 cell((avail.x - gap) * 0.5f, (avail.y - ImGui::GetStyle().ItemSpacing.y) * 0.5f);
  char sub[96];
  const int32_t l = app.layer;
  const int32_t model_layer = r.layer_ids.empty() ? l : r.layer_ids[l];

  std::snprintf(sub, sizeof sub, "experts x tokens, layer %d%s", model_layer, r.has_scores() ? "" : " (top-k weights)");
  draw_panel(app, "##scores", "Router scores", sub, app.heat_scores, {"token", "expert"}, cell, 0, ranges.score_max, false,
             [&](GridCell c) {
               ImGui::BeginTooltip();
               ImGui::Text("token %d \"%s\", expert %d", c.col, run->token_text[c.col].c_str(), c.row);
               const float v = r.has_scores() ? r.scores[r.score_offset(l, c.col) + c.row] : 0.0f;
               ImGui::Text("score %.4f", v);
               ImGui::EndTooltip();
             });
  ImGui::SameLine();
  draw_panel(app, "##load", "Load share", "layers x experts, this run", app.heat_load, {"expert", "layer"}, cell, 0,
             ranges.load_max, false, [&](GridCell c) {
               const size_t i = static_cast<size_t>(c.row) * r.n_experts + c.col;
               ImGui::SetTooltip("layer %d, expert %d\nshare %.4f (uniform %.4f)\n%lld assignments",
                                 r.layer_ids.empty() ? c.row : r.layer_ids[c.row], c.col, cache.summary.load_share[i],
                                 1.0 / r.n_experts, static_cast<long long>(cache.summary.expert_counts[i]));
             });
  draw_panel(app, "##top1", "Top-1 expert", "layers x tokens, one colour per expert", app.heat_top1, {"token", "layer"}, cell, 0, 0, true,
             [&](GridCell c) {
               ImGui::SetTooltip("token %d \"%s\", layer %d\ntop-1 expert %d", c.col, run->token_text[c.col].c_str(),
                                 r.layer_ids.empty() ? c.row : r.layer_ids[c.row],
                                 cache.summary.top1[static_cast<size_t>(c.row) * r.n_tokens + c.col]);
             });
  ImGui::SameLine();
  std::snprintf(sub, sizeof sub, "P(column | row), layer %d", model_layer);
  draw_panel(app, "##coact", "Co-activation", sub, app.heat_coact, {"expert j", "expert i"}, cell, 0, ranges.coact_max, false,
             [&](GridCell c) {
               const size_t i = static_cast<size_t>(c.row) * r.n_experts + c.col;
               ImGui::SetTooltip("P(E%d | E%d) = %.3f\n%lld tokens chose both", c.col, c.row, cache.coactivation.conditional[i],
                                 static_cast<long long>(cache.coactivation.pair_count[i]));
             });
}

}  // namespace moescope::ui
