// Token view: the run's text with each token coloured by its top-1 expert at the chosen layer (as
// in the Mixtral paper's routing figure), a hover tooltip with the top-k at every layer, a pinned
// token's router scores across layers, and tokens whose assignment overflows capacity outlined.
// [SECTION] index: tooltip, pinned scores, text, view.
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "ui/capacity_enforcement.h"
#include "ui/colormap.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] tooltip
//-----------------------------------------------------------------------------

void draw_token_tooltip(const AppState& app, const RunData& run, int32_t t) {
  const auto& r = run.routing;
  ImGui::BeginTooltip();
  ImGui::PushFont(app.fonts.mono);
  ImGui::Text("token %d  \"%s\"  id %d  %s", t, run.token_text[t].c_str(), r.token_ids.empty() ? -1 : r.token_ids[t],
              run.generated[t] ? "generated" : "prompt");
  ImGui::PopFont();
  ImGui::Separator();
  const int32_t max_rows = 64;
  if (ImGui::BeginTable("##topk", 2, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
    for (int32_t l = 0; l < std::min(r.n_layers, max_rows); ++l) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (l == app.layer) {
        ImGui::TextColored(ImGui::GetStyleColorVec4(ImGuiCol_CheckMark), "L%d", r.layer_ids.empty() ? l : r.layer_ids[l]);
      } else {
        ImGui::TextDisabled("L%d", r.layer_ids.empty() ? l : r.layer_ids[l]);
      }
      ImGui::TableNextColumn();
      const size_t off = r.topk_offset(l, t);
      for (int32_t k = 0; k < r.top_k; ++k) {
        const int32_t e = r.topk_ids[off + k];
        if (e == analysis::kNoExpert) break;  // expert choice: no more experts took this token
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float s = ImGui::GetTextLineHeight() * 0.7f;
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + s * 0.2f), ImVec2(p.x + s, p.y + s * 1.2f), categorical_color(e), 2);
        ImGui::Dummy(ImVec2(s, s));
        ImGui::SameLine(0, 4);
        ImGui::Text("E%-3d %.2f", e, r.topk_weights[off + k]);
        if (k + 1 < r.top_k) ImGui::SameLine(0, 12);
      }
    }
    ImGui::EndTable();
  }
  if (r.n_layers > max_rows) ImGui::TextDisabled("... %d more layers", r.n_layers - max_rows);
  draw_enforcement_tooltip(run, t);
  ImGui::TextDisabled("click to pin the router scores");
  ImGui::EndTooltip();
}

//-----------------------------------------------------------------------------
// [SECTION] pinned scores
//-----------------------------------------------------------------------------

// One row per layer: a bar per expert, its height the router score, chosen experts in their
// colour and the rest grey.
void draw_pinned_scores(AppState& app, const RunData& run, float height) {
  const auto& r = run.routing;
  const int32_t t = app.selection.pinned_token;
  ImGui::Text("Router scores of token %d", t);
  ImGui::SameLine();
  ImGui::PushFont(app.fonts.mono);
  ImGui::Text("\"%s\"", run.token_text[t].c_str());
  ImGui::PopFont();
  ImGui::SameLine();
  if (ImGui::SmallButton("Unpin")) app.selection.pinned_token = -1;
  if (!r.has_scores()) {
    if (run.lacks("scores")) {
      note_lacking(app, "scores");
      ImGui::TextDisabled("imported from %s without score vectors; only the top-k weights are known", run.imported_from.c_str());
    } else {
      ImGui::TextDisabled("this run stored no score vectors; only the top-k weights are known");
    }
  }
  ImGui::BeginChild("##pinned", ImVec2(0, height), true);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float label_w = ImGui::CalcTextSize("L000 ").x;
  const float row_h = std::max(ImGui::GetTextLineHeight() * 1.1f, 18.0f);
  const float width = ImGui::GetContentRegionAvail().x - label_w;
  const float bar_w = width / static_cast<float>(r.n_experts);
  const ImU32 grey = ImGui::GetColorU32(ImGuiCol_TextDisabled, 0.55f);
  const ImU32 label_col = ImGui::GetColorU32(ImGuiCol_Text);
  ImGuiListClipper clipper;
  clipper.Begin(r.n_layers, row_h);
  while (clipper.Step()) {
    for (int32_t l = clipper.DisplayStart; l < clipper.DisplayEnd; ++l) {
      const ImVec2 p = ImGui::GetCursorScreenPos();
      ImGui::TextDisabled("L%d", r.layer_ids.empty() ? l : r.layer_ids[l]);
      ImGui::SetCursorScreenPos(p);
      ImGui::Dummy(ImVec2(label_w + width, row_h));
      const float base = p.y + row_h - 2;
      // Each chosen expert's bar carries its id and value, for a figure that reads without hover.
      auto label_bar = [&](float right, int32_t e, float value) {
        char text[32];
        std::snprintf(text, sizeof text, "E%d %.2f", e, value);
        dl->AddText(app.fonts.ui, ImGui::GetFontSize() * 0.8f, ImVec2(right + 2, p.y), label_col, text);
      };
      const size_t off = r.topk_offset(l, t);
      auto chosen_rank = [&](int32_t e) {
        for (int32_t k = 0; k < r.top_k; ++k) if (r.topk_ids[off + k] == e) return k;
        return -1;
      };
      if (r.has_scores()) {
        const float* scores = r.scores.data() + r.score_offset(l, t);
        float max_score = 1e-9f;
        for (int32_t e = 0; e < r.n_experts; ++e) max_score = std::max(max_score, scores[e]);
        for (int32_t e = 0; e < r.n_experts; ++e) {
          const float h = (row_h - 4) * scores[e] / max_score;
          if (h < 0.5f) continue;
          const float x = p.x + label_w + e * bar_w;
          const ImU32 col = chosen_rank(e) >= 0 ? categorical_color(e) : grey;
          dl->AddRectFilled(ImVec2(x, base - h), ImVec2(x + std::max(1.0f, bar_w - 1), base), col);
          if (chosen_rank(e) >= 0) label_bar(x + std::max(1.0f, bar_w - 1), e, scores[e]);
          if (e == app.selection.expert) dl->AddRect(ImVec2(x - 1, base - h - 1), ImVec2(x + std::max(1.0f, bar_w - 1) + 1, base + 1), ImGui::GetColorU32(ImGuiCol_Text));
        }
      } else {
        for (int32_t k = 0; k < r.top_k; ++k) {
          const int32_t e = r.topk_ids[off + k];
          if (e == analysis::kNoExpert) break;  // expert choice: no more experts took this token
          const float h = (row_h - 4) * r.topk_weights[off + k];
          const float x = p.x + label_w + e * bar_w;
          dl->AddRectFilled(ImVec2(x, base - h), ImVec2(x + std::max(1.0f, bar_w - 1), base), categorical_color(e));
          label_bar(x + std::max(1.0f, bar_w - 1), e, r.topk_weights[off + k]);
        }
      }
      dl->AddLine(ImVec2(p.x + label_w, base), ImVec2(p.x + label_w + width, base), grey);
    }
  }
  ImGui::EndChild();
}

//-----------------------------------------------------------------------------
// [SECTION] text
//-----------------------------------------------------------------------------

void draw_token_text(AppState& app, const RunData& run, const RunCache& cache, float height) {
  const auto& r = run.routing;
  ImGui::PushFont(app.fonts.mono);
  ImGui::BeginChild("##text", ImVec2(0, height), true);
  const float wrap = ImGui::GetContentRegionAvail().x;
  const float pad = 3.0f * app.ui_scale;
  const float line_h = ImGui::GetTextLineHeight() + 2 * pad + 3;
  const uint64_t key = mix_key(mix_key(run_data_key(run), static_cast<uint64_t>(wrap)), static_cast<uint64_t>(line_h * 16));
  if (app.token_layout.key != key) {
    app.token_layout = layout_tokens(run.token_text, wrap, line_h, pad,
                                     [](const std::string& s) { return ImGui::CalcTextSize(s.c_str()).x; });
    app.token_layout.key = key;
  }
  const TokenLayout& lay = app.token_layout;
  Selection& sel = app.selection;
  if (app.token_range_applied != sel.range_revision) {
    // A range set in another view: scroll to its first token.
    if (sel.has_range() && sel.token_begin < static_cast<int32_t>(lay.y.size())) ImGui::SetScrollY(lay.y[sel.token_begin]);
    app.token_range_applied = sel.range_revision;
  }
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::Dummy(ImVec2(wrap, lay.height));
  const float scroll = ImGui::GetScrollY();
  const auto [first_line, last_line] = visible_lines(lay, scroll, scroll + ImGui::GetWindowHeight());
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const bool window_hovered = ImGui::IsWindowHovered();
  const int32_t l = app.layer;
  const ColorLut& lut = colormap_lut(app.settings.colormap);
  int32_t hovered = -1;
  const int32_t n_tokens = std::min<int32_t>(r.n_tokens, static_cast<int32_t>(lay.x.size()));
  const int32_t t_begin = first_line < static_cast<int32_t>(lay.line_start.size()) ? lay.line_start[first_line] : n_tokens;
  const int32_t t_end = last_line < static_cast<int32_t>(lay.line_start.size()) ? lay.line_start[last_line] : n_tokens;
  const ImU32 prompt_bg = ImGui::GetColorU32(ImGuiCol_FrameBg);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_WindowBg, 0.72f);
  const ImU32 highlight = ImGui::GetColorU32(ImGuiCol_Text);
  auto routes_to = [&](size_t off, int32_t e) {
    for (int32_t k = 0; k < r.top_k; ++k) {
      if (r.topk_ids[off + k] == e) return true;
    }
    return false;
  };
  for (int32_t t = t_begin; t < t_end; ++t) {
    const ImVec2 a(origin.x + lay.x[t], origin.y + lay.y[t]);
    const ImVec2 b(a.x + lay.w[t], a.y + line_h - 3);
    const size_t off = r.topk_offset(l, t);
    const ImU32 fill = app.token_colour_mode == 0
                           ? categorical_color(cache.summary.top1[static_cast<size_t>(l) * r.n_tokens + t])
                           : lut[static_cast<size_t>(std::clamp(r.topk_weights[off], 0.0f, 1.0f) * 255)];
    dl->AddRectFilled(a, b, fill, 3.0f);
    if (!run.generated[t]) dl->AddRect(a, b, prompt_bg, 3.0f, 0, 1.0f);
    const ImU32 text = luminance(fill) > 0.5f ? IM_COL32(15, 15, 20, 255) : IM_COL32(250, 250, 250, 255);
    dl->AddText(ImVec2(a.x + pad, a.y + pad), text, run.token_text[t].c_str());
    if (app.mark_dropped && !cache.overflow.dropped.empty()) {
      bool dropped = false;
      for (int32_t k = 0; k < r.top_k; ++k) dropped |= cache.overflow.dropped[off + k] != 0;
      if (dropped) dl->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), IM_COL32(255, 40, 40, 255), 3.0f, 0, 2.0f);
    }
    // Tokens outside the selected range, or not routed to the highlighted expert, fade back.
    const bool to_expert = sel.expert >= 0 && routes_to(off, sel.expert);
    if ((sel.has_range() && (t < sel.token_begin || t >= sel.token_end)) || (sel.expert >= 0 && !to_expert)) {
      dl->AddRectFilled(a, b, dim, 3.0f);
    }
    if (to_expert) dl->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), highlight, 3.0f, 0, 1.5f);
    if (t == sel.pinned_token) dl->AddRect(ImVec2(a.x - 3, a.y - 3), ImVec2(b.x + 3, b.y + 3), highlight, 3.0f, 0, 2.5f);
    if (window_hovered && mouse.x >= a.x && mouse.x < b.x && mouse.y >= a.y && mouse.y < b.y) hovered = t;
  }
  ImGui::EndChild();
  ImGui::PopFont();
  if (hovered >= 0) {
    draw_token_tooltip(app, run, hovered);
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
      // Shift-click selects the range from the pinned token to this one.
      if (ImGui::GetIO().KeyShift && sel.pinned_token >= 0) {
        sel.set_range(std::min(sel.pinned_token, hovered), std::max(sel.pinned_token, hovered) + 1, r.n_tokens);
        app.token_range_applied = sel.range_revision;
      }
      sel.pinned_token = hovered;
    }
  }
}

// What the linked selection holds, and how to clear it.
void draw_selection_line(AppState& app, const RunData& run) {
  Selection& sel = app.selection;
  if (!sel.has_range() && sel.expert < 0) {
    ImGui::TextDisabled("click: pin a token  shift-click: select a range  arrows: move token / layer  Esc: clear");
    return;
  }
  if (sel.has_range()) {
    ImGui::Text("tokens %d-%d of %d", sel.token_begin, sel.token_end - 1, run.routing.n_tokens);
    ImGui::SameLine();
    if (ImGui::SmallButton("All tokens")) sel.clear_range();
    ImGui::SameLine();
  }
  if (sel.expert >= 0) {
    const auto& r = run.routing;
    const int32_t l = std::clamp(app.layer, 0, r.n_layers - 1);
    int32_t n = 0;
    for (int32_t t = 0; t < r.n_tokens; ++t) {
      const size_t off = r.topk_offset(l, t);
      for (int32_t k = 0; k < r.top_k; ++k) n += r.topk_ids[off + k] == sel.expert;
    }
    ImGui::Text("expert %d: %d tokens at this layer", sel.expert, n);
    ImGui::SameLine();
    if (ImGui::SmallButton("Clear expert")) sel.expert = -1;
  }
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_tokens_view(AppState& app) {
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0 || run->routing.n_layers == 0) {
    draw_empty_hint(app.doc ? "Select a run with routing in the sidebar" : "Open a session (File > Open session) or start a run");
    return;
  }
  RunCache& cache = app.cache_for(*run);
  draw_layer_slider(app, *run);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 13);
  ImGui::Combo("##colour", &app.token_colour_mode, "colour: top-1 expert\0colour: top-1 weight\0");
  ImGui::SameLine();
  ImGui::Checkbox("mark dropped", &app.mark_dropped);
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("outline tokens with an assignment beyond capacity at C = %.2f (set in Load balance)", app.capacity_factor);
  }
  ImGui::SameLine();
  const int32_t l = app.layer;
  ImGui::TextDisabled("%s  |  %d tokens  |  top-%d of %d experts  |  %.1f%% dropped at C=%.2f", run->summary.tag.c_str(),
                      run->routing.n_tokens, run->routing.top_k, run->routing.n_experts,
                      100.0 * analysis::layer_drop_rate(cache.overflow, l), app.capacity_factor);
  draw_enforcement_line(summarize_enforcement(*run));
  if (app.token_colour_mode == 0) {
    const int32_t clicked = draw_categorical_legend(run->routing.n_experts, 32, "E", app.selection.expert);
    if (clicked >= 0) app.selection.toggle_expert(clicked);
  } else {
    ImGui::TextDisabled("top-1 combine weight: 0 (dark) to 1 (bright), %s", std::string(colormap_name(app.settings.colormap)).c_str());
  }
  draw_selection_line(app, *run);
  const bool pinned = app.selection.pinned_token >= 0 && app.selection.pinned_token < run->routing.n_tokens;
  const float avail = ImGui::GetContentRegionAvail().y;
  const float pinned_h = pinned ? std::min(avail * 0.45f, (run->routing.n_layers + 1.5f) * std::max(ImGui::GetTextLineHeight() * 1.1f, 18.0f) + 12) : 0;
  draw_token_text(app, *run, cache, avail - (pinned ? pinned_h + ImGui::GetFrameHeightWithSpacing() * 1.4f : 0));
  if (pinned) draw_pinned_scores(app, *run, pinned_h);
}

}  // namespace moescope::ui
