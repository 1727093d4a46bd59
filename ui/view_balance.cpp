// Load balance and capacity: per-layer metrics (each with its formula and uniform baseline on
// hover), the selected layer's expert loads with the part beyond capacity in red, and a capacity
// factor slider that recomputes overflow from the stored routing as it moves.
// [SECTION] index: metrics table, load bars, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/capacity_enforcement.h"
#include "ui/colormap.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

struct MetricColumn {
  const char* name;
  const char* formula;
  double (*get)(const LayerBalance&);
};

constexpr MetricColumn kColumns[] = {
    {"CV", "sigma(c) / mean(c) over expert loads c_e\nuniform: 0", [](const LayerBalance& b) { return b.cv; }},
    {"max/mean", "max_e c_e / mean_e c_e\nuniform: 1", [](const LayerBalance& b) { return b.max_over_mean; }},
    {"balancedness", "mean_e c_e / max_e c_e (as SGLang logs it)\nuniform: 1", [](const LayerBalance& b) { return b.balancedness; }},
    {"Jain", "(sum c)^2 / (E sum c^2)\nuniform: 1, one hot expert: 1/E", [](const LayerBalance& b) { return b.jain; }},
    {"Gini", "sum_i sum_j |c_i - c_j| / (2 E^2 mean)\nuniform: 0", [](const LayerBalance& b) { return b.gini; }},
    {"switch_aux_loss", "Switch: E * sum_e f_e * P_e (f: top-1 share, P: mean score)\nuniform: 1", [](const LayerBalance& b) { return b.switch_aux_loss; }},
    {"entropy", "mean per-token entropy of the scores (nats)\nuniform: ln E", [](const LayerBalance& b) { return b.entropy; }},
    {"load entropy", "entropy of the load share / ln E\nuniform: 1", [](const LayerBalance& b) { return b.load_entropy; }},
};

//-----------------------------------------------------------------------------
// [SECTION] metrics table
//-----------------------------------------------------------------------------

void draw_metrics_table(AppState& app, const RunData& run, const RunCache& cache, float height) {
  const auto& r = run.routing;
  const int n_cols = 2 + IM_ARRAYSIZE(kColumns);
  if (!ImGui::BeginTable("##metrics", n_cols, ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingStretchSame,
                         ImVec2(0, height))) {
    return;
  }
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("layer");
  for (const auto& c : kColumns) ImGui::TableSetupColumn(c.name);
  ImGui::TableSetupColumn("dropped");
  ImGui::TableNextRow(ImGuiTableRowFlags_Headers);
  for (int c = 0; c < n_cols; ++c) {
    ImGui::TableSetColumnIndex(c);
    ImGui::TableHeader(ImGui::TableGetColumnName(c));
    if (ImGui::IsItemHovered() && c >= 1 && c <= IM_ARRAYSIZE(kColumns)) ImGui::SetTooltip("%s", kColumns[c - 1].formula);
    if (ImGui::IsItemHovered() && c == n_cols - 1) {
      ImGui::SetTooltip("assignments beyond capacity ceil(C * T * k / E) per step, token order, C = %.2f", app.capacity_factor);
    }
  }
  for (int32_t l = 0; l < r.n_layers; ++l) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    if (ImGui::Selectable(std::to_string(r.layer_ids.empty() ? l : r.layer_ids[l]).c_str(), app.layer == l, ImGuiSelectableFlags_SpanAllColumns)) {
      app.layer = l;
    }
    for (const auto& c : kColumns) {
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", c.get(cache.balance[l]));
    }
    ImGui::TableNextColumn();
    const double rate = analysis::layer_drop_rate(cache.overflow, l);
    if (rate > 0) {
      ImGui::TextColored(ImVec4(1.0f, 0.42f, 0.38f, 1.0f), "%.2f%%", 100 * rate);
    } else {
      ImGui::TextDisabled("0");
    }
  }
  ImGui::EndTable();
}

//-----------------------------------------------------------------------------
// [SECTION] load bars
//-----------------------------------------------------------------------------

void draw_load_bars(AppState& app, const RunData& run, const RunCache& cache, ImVec2 size) {
  const auto& r = run.routing;
  const int32_t l = app.layer;
  const int64_t* counts = cache.summary.expert_counts.data() + static_cast<size_t>(l) * r.n_experts;
  const int64_t* overflow = cache.overflow.overflow.data() + static_cast<size_t>(l) * r.n_experts;
  int64_t max_count = 1;
  for (int32_t e = 0; e < r.n_experts; ++e) max_count = std::max(max_count, counts[e]);
  const double mean = static_cast<double>(r.n_tokens) * r.top_k / r.n_experts;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float font = ImGui::GetFontSize();
  const float left = font * 3.5f, bottom = font * 1.6f;
  const ImVec2 a(p.x + left, p.y + 4), b(p.x + size.x, p.y + size.y - bottom);
  ImGui::InvisibleButton("##bars", size);
  const bool hovered = ImGui::IsItemHovered();
  const float bar_w = (b.x - a.x) / static_cast<float>(r.n_experts);
  const float scale = (b.y - a.y) / static_cast<float>(max_count);
  const ImU32 grid = ImGui::GetColorU32(ImGuiCol_Border);
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  char buf[32];
  for (int i = 0; i <= 4; ++i) {
    const float y = b.y - (b.y - a.y) * i / 4.0f;
    dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), grid);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(max_count * i / 4));
    dl->AddText(ImVec2(a.x - ImGui::CalcTextSize(buf).x - 6, y - font * 0.5f), text, buf);
  }
  const ImU32 kept = colormap_lut(app.settings.colormap)[170];
  int32_t hovered_e = -1;
  for (int32_t e = 0; e < r.n_experts; ++e) {
    const float x0 = a.x + e * bar_w, x1 = x0 + std::max(1.0f, bar_w - (bar_w > 4 ? 1.5f : 0.0f));
    const float h_all = static_cast<float>(counts[e]) * scale, h_drop = static_cast<float>(overflow[e]) * scale;
    dl->AddRectFilled(ImVec2(x0, b.y - h_all + h_drop), ImVec2(x1, b.y), kept);
    if (overflow[e] > 0) dl->AddRectFilled(ImVec2(x0, b.y - h_all), ImVec2(x1, b.y - h_all + h_drop), IM_COL32(235, 70, 60, 255));
    if (hovered && ImGui::GetIO().MousePos.x >= x0 && ImGui::GetIO().MousePos.x < x0 + bar_w) hovered_e = e;
  }
  const float mean_y = b.y - static_cast<float>(mean) * scale;
  dl->AddLine(ImVec2(a.x, mean_y), ImVec2(b.x, mean_y), ImGui::GetColorU32(ImGuiCol_Text), 1.5f);
  dl->AddText(ImVec2(b.x - ImGui::CalcTextSize("uniform").x - 2, mean_y - font - 2), ImGui::GetColorU32(ImGuiCol_Text), "uniform");
  const int32_t step = std::max(1, r.n_experts / 16);
  for (int32_t e = 0; e < r.n_experts; e += step) {
    std::snprintf(buf, sizeof buf, "%d", e);
    dl->AddText(ImVec2(a.x + (e + 0.5f) * bar_w - ImGui::CalcTextSize(buf).x * 0.5f, b.y + 3), text, buf);
  }
  if (hovered_e >= 0) {
    ImGui::SetTooltip("expert %d: %lld assignments (%.2fx uniform)\n%lld beyond capacity at C = %.2f", hovered_e,
                      static_cast<long long>(counts[hovered_e]), counts[hovered_e] / mean,
                      static_cast<long long>(overflow[hovered_e]), app.capacity_factor);
  }
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_balance_view(AppState& app) {
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0 || run->routing.n_layers == 0) {
    draw_empty_hint(app.doc ? "Select a run with routing in the sidebar" : "Open a session (File > Open session) or start a run");
    return;
  }
  draw_layer_slider(app, *run);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 16);
  ImGui::SliderFloat("##cf", &app.capacity_factor, 0.25f, 4.0f, "capacity factor C = %.2f");
  const RunCache& cache = app.cache_for(*run);
  ImGui::SameLine();
  ImGui::TextDisabled("run drop rate %.2f%%", 100 * analysis::drop_rate(cache.overflow));
  draw_enforcement_line(summarize_enforcement(*run));
  const float avail = ImGui::GetContentRegionAvail().y;
  ImGui::BeginChild("##loadbars", ImVec2(0, avail * 0.5f), true);
  ImGui::Text("Expert load, layer %d", run->routing.layer_ids.empty() ? app.layer : run->routing.layer_ids[app.layer]);
  ImGui::SameLine();
  ImGui::TextDisabled("assignments per expert; red: beyond capacity at C = %.2f", app.capacity_factor);
  draw_load_bars(app, *run, cache, ImGui::GetContentRegionAvail());
  ImGui::EndChild();
  draw_metrics_table(app, *run, cache, 0);
}

}  // namespace moescope::ui
