// Heatmaps, four at once, each one GL texture: router scores (experts x tokens) at a layer, load
// share (layers x experts) of the run, top-1 expert (layers x tokens, categorical) and expert
// co-activation P(j | i) at a layer. Each texture holds the visible window at the plot's pixels
// (max or mean pooled, never nearest-sampled), re-rendered only when its key changes; experts are
// listed by id, load or co-activation cluster, and the top-1 map colours the most chosen experts.
// [SECTION] index: textures, panels, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "ui/heatmap_image.h"
#include "ui/script_player.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

uint64_t data_key(const RunData& run, uint64_t kind, int64_t layer, Colormap map) {
  uint64_t h = mix_key(kind, run_data_key(run));
  h = mix_key(h, static_cast<uint64_t>(layer + 1));
  return mix_key(h, static_cast<uint64_t>(map) + 1);
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
      for (int32_t k = 0; k < r.top_k && r.topk_ids[off + k] != analysis::kNoExpert; ++k)
        out[static_cast<size_t>(r.topk_ids[off + k]) * r.n_tokens + t] = r.topk_weights[off + k];
    }
  }
  return out;
}

struct Ranges {
  float score_max = 1, load_max = 1, coact_max = 1;
};

// The grids behind the textures: rebuilt for a new run, layer or expert order only, so zoom and
// pan cost one render of the visible window, not a pass over the routing.
void update_grids(AppState& app, const RunData& run, const RunCache& cache) {
  HeatmapsState& h = app.heatmaps;
  const auto& r = run.routing;
  const int32_t l = app.layer;
  const uint64_t key = mix_key(mix_key(data_key(run, 5, l, Colormap::viridis), static_cast<uint64_t>(h.order)),
                               static_cast<uint64_t>(h.palette_top));
  if (h.grids_key == key) return;
  h.grids_key = key;
  h.scores = experts_by_tokens(r, l);
  h.scores_max = 1e-6f;
  for (float v : h.scores) h.scores_max = std::max(h.scores_max, v);
  h.coactivation.assign(cache.coactivation.conditional.begin(), cache.coactivation.conditional.end());
  for (int32_t e = 0; e < r.n_experts; ++e) h.coactivation[static_cast<size_t>(e) * r.n_experts + e] = NAN;  // P(i | i) = 1 says nothing
  const std::vector<int64_t> layer_counts(cache.summary.expert_counts.begin() + static_cast<ptrdiff_t>(l) * r.n_experts,
                                          cache.summary.expert_counts.begin() + static_cast<ptrdiff_t>(l + 1) * r.n_experts);
  h.expert_rows = expert_order(h.order, layer_counts, cache.coactivation.pair_count);
  std::vector<int64_t> top1_counts(static_cast<size_t>(r.n_experts), 0);
  for (int32_t e : cache.summary.top1) {
    if (e >= 0 && e < r.n_experts) ++top1_counts[static_cast<size_t>(e)];
  }
  h.palette = top_expert_palette(top1_counts.data(), r.n_experts, h.palette_top);
}

// Each slot holds the visible window at the plot's pixels; re-rendered when the data, the
// window, the plot size, the pooling, the order or the colour map change.
void update_textures(AppState& app, const RunData& run, const RunCache& cache, Ranges& ranges) {
  const auto& r = run.routing;
  HeatmapsState& h = app.heatmaps;
  update_grids(app, run, cache);
  const ColorLut& lut = colormap_lut(app.settings.colormap);
  // Colour scales: scores and co-activation over [0, max]; load share over [0, max share].
  ranges.load_max = std::max(1e-6f, *std::max_element(cache.summary.load_share.begin(), cache.summary.load_share.end()));
  ranges.coact_max = 1e-6f;
  for (double v : cache.coactivation.conditional) ranges.coact_max = std::max(ranges.coact_max, static_cast<float>(v));
  ranges.score_max = h.scores_max;
  const uint64_t look = mix_key(mix_key(h.grids_key, static_cast<uint64_t>(h.pooling)), static_cast<uint64_t>(app.settings.colormap));
  auto refresh = [&](HeatmapSlot& slot, uint64_t kind, int32_t rows, int32_t cols, const std::function<HeatmapImage(GridWindow, int32_t, int32_t)>& render) {
    slot.windowed = true;
    if (slot.rows != rows || slot.cols != cols) {  // another grid shape: start from the whole grid
      slot.rows = rows, slot.cols = cols;
      slot.u0 = slot.v0 = 0, slot.u1 = slot.v1 = 1;
    }
    if (slot.plot_width <= 0) slot.plot_width = kDefaultPlotWidth, slot.plot_height = kDefaultPlotHeight;
    const uint64_t key = windowed_key(slot, mix_key(look, kind));
    if (!slot.holds(key)) upload_heatmap(slot, render(slot.window(), slot.plot_width, slot.plot_height), key);
  };
  const std::vector<int32_t> by_id;
  refresh(app.heat_scores, 1, r.n_experts, r.n_tokens, [&](GridWindow w, int32_t width, int32_t height) {
    return render_heatmap_window(r.n_experts, r.n_tokens, h.scores.data(), h.expert_rows, by_id, w, width, height, h.pooling, 0.0f,
                                 h.scores_max, lut);
  });
  refresh(app.heat_load, 2, r.n_layers, r.n_experts, [&](GridWindow w, int32_t width, int32_t height) {
    return render_heatmap_window(r.n_layers, r.n_experts, cache.summary.load_share.data(), by_id, h.expert_rows, w, width, height,
                                 h.pooling, 0.0f, ranges.load_max, lut);
  });
  refresh(app.heat_top1, 3, r.n_layers, r.n_tokens, [&](GridWindow w, int32_t width, int32_t height) {
    return render_categorical_window(r.n_layers, r.n_tokens, cache.summary.top1.data(), w, width, height, h.palette);
  });
  refresh(app.heat_coact, 4, r.n_experts, r.n_experts, [&](GridWindow w, int32_t width, int32_t height) {
    return render_heatmap_window(r.n_experts, r.n_experts, h.coactivation.data(), h.expert_rows, h.expert_rows, w, width, height,
                                 h.pooling, 0.0f, ranges.coact_max, lut);
  });
}

// The toolbar's choices: pooling, expert order, how many experts get their own colour.
void draw_heatmap_options(AppState& app) {
  HeatmapsState& h = app.heatmaps;
  const float w = ImGui::GetFontSize() * 7;
  ImGui::SetNextItemWidth(w);
  const char* pooling_names[kPoolingCount] = {"max pool", "mean pool"};
  int pooling = static_cast<int>(h.pooling);
  if (ImGui::Combo("##pooling", &pooling, pooling_names, kPoolingCount)) h.pooling = static_cast<Pooling>(pooling);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("How cells smaller than a pixel become one pixel: the maximum keeps a hot expert visible");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w * 1.6f);
  int order = static_cast<int>(h.order);
  if (ImGui::BeginCombo("##order", ("experts by " + std::string(expert_order_name(h.order))).c_str())) {
    for (int i = 0; i < kExpertOrderCount; ++i) {
      const auto o = static_cast<ExpertOrder>(i);
      if (ImGui::Selectable(std::string(expert_order_name(o)).c_str(), order == i)) h.order = o;
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  ImGui::SliderInt("##top", &h.palette_top, 1, 20, "%d colours");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Top-1 map: the N most chosen experts get a colour each, the rest share \"other\"");
}

// The top-1 map's legend: each coloured expert (a click highlights it everywhere), then "other".
void draw_palette_legend(Selection& selection, const ExpertPalette& palette) {
  const float s = ImGui::GetTextLineHeight() * 0.8f;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  char label[24];
  auto swatch = [&](uint32_t colour, const char* text, int32_t expert) {
    if (ImGui::GetContentRegionAvail().x < s + 4 + ImGui::CalcTextSize(text).x) ImGui::NewLine();
    const ImVec2 q = ImGui::GetCursorScreenPos();
    dl->AddRectFilled(ImVec2(q.x, q.y + 2), ImVec2(q.x + s, q.y + 2 + s), colour, 2.0f);
    if (expert >= 0 && expert == selection.expert) {
      dl->AddRect(ImVec2(q.x - 2, q.y), ImVec2(q.x + s + 2, q.y + 4 + s), ImGui::GetColorU32(ImGuiCol_Text), 2.0f, 0, 2.0f);
    }
    ImGui::PushID(text);
    if (ImGui::InvisibleButton("##swatch", ImVec2(s + 4 + ImGui::CalcTextSize(text).x, s + 4)) && expert >= 0) {
      selection.toggle_expert(expert);
    }
    ImGui::PopID();
    ImGui::SetCursorScreenPos(ImVec2(q.x + s + 4, q.y));
    ImGui::TextUnformatted(text);
    ImGui::SameLine();
  };
  for (int32_t e : palette.top) {
    std::snprintf(label, sizeof label, "E%d", e);
    swatch(palette.of(e), label, e);
  }
  if (palette.top.size() < palette.color.size()) swatch(kOtherExpertColor, "other", -1);
  ImGui::NewLine();
}

//-----------------------------------------------------------------------------
// [SECTION] panels
//-----------------------------------------------------------------------------

void panel_title(const char* title, const char* subtitle) {
  ImGui::TextUnformatted(title);
  ImGui::SameLine();
  ImGui::TextDisabled("%s", subtitle);
}

// Draws one map; `on_click` gets a clicked cell (after the panel, so it may change the selection).
void draw_panel(AppState& app, const char* id, const char* title, const char* subtitle, HeatmapSlot& slot,
                const HeatmapAxes& axes, const HeatmapMarks& marks, ImVec2 size, const char* bar_label, float vmin, float vmax,
                const ExpertPalette* palette, const std::function<void(GridCell)>& tooltip,
                const std::function<void(GridCell)>& on_click) {
  const bool categorical = palette != nullptr;
  ImGui::BeginChild(id, size, true);
  panel_title(title, subtitle);
  if (categorical) draw_palette_legend(app.selection, *palette);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float bar_w = categorical ? 0.0f : ImGui::GetFontSize() * 5.2f;
  const ImVec2 map_size(avail.x - bar_w, avail.y);
  bool clicked = false;
  const GridCell cell = draw_heatmap(id, slot, map_size, axes, marks, &clicked);
  note_clickable_rect(app, (std::string("heatmap") + id).c_str(), slot.screen_x0, slot.screen_y0, slot.screen_x1, slot.screen_y1);
  if (!categorical) {
    ImGui::SameLine();
    ImGui::SetCursorPosY(ImGui::GetCursorPosY() - avail.y - ImGui::GetStyle().ItemSpacing.y);
    ImGui::SetCursorPos(ImVec2(map_size.x + ImGui::GetStyle().WindowPadding.x + 6, ImGui::GetTextLineHeightWithSpacing() + ImGui::GetStyle().WindowPadding.y));
    draw_colorbar(colormap_lut(app.settings.colormap), vmin, vmax, bar_label, ImVec2(bar_w - 6, avail.y));
  }
  ImGui::EndChild();
  if (cell.row >= 0) tooltip(cell);
  if (clicked && cell.row >= 0) on_click(cell);
}

// The two maps with tokens along x follow the selection's token range, and a zoom or pan in
// either sets it (for the other map, the token view and the timeline).
void apply_token_range(AppState& app, int32_t n_tokens) {
  HeatmapsState& h = app.heatmaps;
  if (h.range_applied == app.selection.range_revision) return;
  const auto [u0, u1] = app.selection.range_fraction(n_tokens);
  for (HeatmapSlot* slot : {&app.heat_scores, &app.heat_top1}) slot->u0 = u0, slot->u1 = u1;
  h.range_applied = app.selection.range_revision;
}

void take_token_range(AppState& app, const HeatmapSlot& zoomed, HeatmapSlot& other, double u0_before, double u1_before,
                      int32_t n_tokens) {
  if (zoomed.u0 == u0_before && zoomed.u1 == u1_before) return;
  other.u0 = zoomed.u0, other.u1 = zoomed.u1;
  app.selection.set_range(static_cast<int32_t>(std::floor(zoomed.u0 * n_tokens)),
                          static_cast<int32_t>(std::ceil(zoomed.u1 * n_tokens)), n_tokens);
  app.heatmaps.range_applied = app.selection.range_revision;
}

// Display position of expert `e` under the current order (rows of the expert-major maps).
int32_t display_of(const std::vector<int32_t>& rows, int32_t e) {
  if (e < 0) return -1;
  const auto it = std::find(rows.begin(), rows.end(), e);
  return it == rows.end() ? -1 : static_cast<int32_t>(it - rows.begin());
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
  draw_heatmap_options(app);
  ImGui::SameLine();
  ImGui::TextDisabled("wheel: zoom (Ctrl: rows, Shift: both)  drag: pan  double-click: reset  click: pin, highlight  dashed: first generated token");
  const RunCache& cache = app.cache_for(*run);
  const auto& r = run->routing;
  Ranges ranges;
  apply_token_range(app, r.n_tokens);
  update_textures(app, *run, cache, ranges);
  const std::vector<int32_t>& rows = app.heatmaps.expert_rows;  // expert shown at each display row
  auto expert_at = [&](int32_t display) { return display >= 0 && display < static_cast<int32_t>(rows.size()) ? rows[static_cast<size_t>(display)] : display; };
  Selection& sel = app.selection;
  const int32_t expert_row = display_of(rows, sel.expert);
  const int32_t pinned = sel.pinned_token < r.n_tokens ? sel.pinned_token : -1;
  // The first generated token: where the prompt ends on the maps with tokens along x.
  const auto first_generated = std::find(run->generated.begin(), run->generated.end(), uint8_t{1});
  const int32_t boundary = first_generated == run->generated.end() ? -1 : static_cast<int32_t>(first_generated - run->generated.begin());
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const ImVec2 cell((avail.x - gap) * 0.5f, (avail.y - ImGui::GetStyle().ItemSpacing.y) * 0.5f);
  char sub[96];
  const int32_t l = app.layer;
  const int32_t model_layer = r.layer_ids.empty() ? l : r.layer_ids[l];
  const double scores_u0 = app.heat_scores.u0, scores_u1 = app.heat_scores.u1;
  const double top1_u0 = app.heat_top1.u0, top1_u1 = app.heat_top1.u1;

  if (!r.has_scores() && run->lacks("scores")) note_lacking(app, "scores");
  std::snprintf(sub, sizeof sub, "experts x tokens, layer %d%s", model_layer,
                r.has_scores() ? "" : run->lacks("scores") ? " (top-k weights: the import has no scores)" : " (top-k weights)");
  draw_panel(app, "##scores", "Router scores", sub, app.heat_scores, {"token", "expert"}, {expert_row, pinned, boundary}, cell,
             r.has_scores() ? "score" : "weight", 0, ranges.score_max, nullptr,
             [&](GridCell c) {
               ImGui::BeginTooltip();
               const int32_t e = expert_at(c.row);
               ImGui::Text("token %d \"%s\", expert %d", c.col, run->token_text[c.col].c_str(), e);
               const float v = r.has_scores() ? r.scores[r.score_offset(l, c.col) + e] : 0.0f;
               ImGui::Text("score %.4f", v);
               ImGui::TextDisabled("click: pin this token, highlight this expert");
               ImGui::EndTooltip();
             },
             [&](GridCell c) {
               sel.pinned_token = c.col;
               sel.expert = expert_at(c.row);
             });
  take_token_range(app, app.heat_scores, app.heat_top1, scores_u0, scores_u1, r.n_tokens);
  ImGui::SameLine();
  draw_panel(app, "##load", "Load share", "layers x experts, this run", app.heat_load, {"expert", "layer"}, {l, expert_row},
             cell, "share", 0, ranges.load_max, nullptr,
             [&](GridCell c) {
               const int32_t e = expert_at(c.col);
               const size_t i = static_cast<size_t>(c.row) * r.n_experts + e;
               ImGui::SetTooltip("layer %d, expert %d\nshare %.4f (uniform %.4f)\n%lld assignments\nclick: highlight this expert at this layer",
                                 r.layer_ids.empty() ? c.row : r.layer_ids[c.row], e, cache.summary.load_share[i],
                                 1.0 / r.n_experts, static_cast<long long>(cache.summary.expert_counts[i]));
             },
             [&](GridCell c) {
               sel.toggle_expert(expert_at(c.col));
               app.layer = c.row;
             });
  draw_panel(app, "##top1", "Top-1 expert", "layers x tokens, the most chosen experts in colour", app.heat_top1,
             {"token", "layer"}, {l, pinned, boundary}, cell, "", 0, 0, &app.heatmaps.palette,
             [&](GridCell c) {
               ImGui::SetTooltip("token %d \"%s\", layer %d\ntop-1 expert %d\nclick: pin this token at this layer", c.col,
                                 run->token_text[c.col].c_str(), r.layer_ids.empty() ? c.row : r.layer_ids[c.row],
                                 cache.summary.top1[static_cast<size_t>(c.row) * r.n_tokens + c.col]);
             },
             [&](GridCell c) {
               sel.pinned_token = c.col;
               app.layer = c.row;
             });
  take_token_range(app, app.heat_top1, app.heat_scores, top1_u0, top1_u1, r.n_tokens);
  ImGui::SameLine();
  std::snprintf(sub, sizeof sub, "P(column | row), layer %d", model_layer);
  draw_panel(app, "##coact", "Co-activation", sub, app.heat_coact, {"expert j", "expert i"}, {expert_row, expert_row}, cell,
             "P(j|i)", 0, ranges.coact_max, nullptr,
             [&](GridCell c) {
               const int32_t ei = expert_at(c.row), ej = expert_at(c.col);
               const size_t i = static_cast<size_t>(ei) * r.n_experts + ej;
               ImGui::SetTooltip("P(E%d | E%d) = %.3f\n%lld tokens chose both", ej, ei, cache.coactivation.conditional[i],
                                 static_cast<long long>(cache.coactivation.pair_count[i]));
             },
             [&](GridCell c) { sel.toggle_expert(expert_at(c.row)); });
}

}  // namespace moescope::ui
