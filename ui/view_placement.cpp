// Expert placement what-if (issue #19): the selected run's expert loads placed on R expert-parallel
// ranks, contiguous blocks (the serving default) against a balanced packing or DeepSeek's EPLB
// with replicated hot experts (core/analysis/ep_placement, as `moescope placement`); per-rank load
// before and after at the selected layer, and the busiest rank over the mean at every layer.
// [SECTION] index: placement, plots, view.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>

#include "core/analysis/ep_placement.h"
#include "ui/colormap.h"
#include "ui/value_axis.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

constexpr const char* kMethods[] = {"contiguous", "balanced", "eplb"};

//-----------------------------------------------------------------------------
// [SECTION] placement
//-----------------------------------------------------------------------------

// Rebuilt when the run, rank count, method or replicas change: O(layers * experts log experts).
void update_placement(PlacementState& s, const RunData& run, const RunCache& cache) {
  const auto& r = run.routing;
  const int32_t ranks = std::clamp(s.ranks, 1, std::max(1, r.n_experts));
  const int32_t replicas = s.replicas > 0 ? s.replicas : ranks;
  uint64_t key = mix_key(run_data_key(run), static_cast<uint64_t>(ranks));
  key = mix_key(mix_key(key, static_cast<uint64_t>(s.method)), static_cast<uint64_t>(replicas));
  if (s.key == key) return;
  s.key = key;
  s.n_ranks = ranks;
  s.before.assign(static_cast<size_t>(r.n_layers) * ranks, 0.0);
  s.after = s.before;
  s.max_before.assign(static_cast<size_t>(r.n_layers), 0.0);
  s.max_after = s.max_before;
  s.mean = s.max_before;
  const analysis::ExpertPlacement contiguous = analysis::contiguous_placement(r.n_experts, ranks);
  for (int32_t l = 0; l < r.n_layers; ++l) {
    const auto counts = cache.summary.expert_counts.begin() + static_cast<ptrdiff_t>(l) * r.n_experts;
    const std::vector<double> load(counts, counts + r.n_experts);
    std::vector<double> before = analysis::rank_load(load, contiguous), after;
    if (s.method == 0) {
      after = before;
    } else if (s.method == 1) {
      after = analysis::rank_load(load, analysis::balanced_placement(load, ranks));
    } else {
      after = analysis::eplb_placement(load, ranks, replicas, contiguous).rank_load_after;
    }
    std::copy(before.begin(), before.end(), s.before.begin() + static_cast<ptrdiff_t>(l) * ranks);
    std::copy(after.begin(), after.end(), s.after.begin() + static_cast<ptrdiff_t>(l) * ranks);
    s.max_before[static_cast<size_t>(l)] = *std::max_element(before.begin(), before.end());
    s.max_after[static_cast<size_t>(l)] = *std::max_element(after.begin(), after.end());
    s.mean[static_cast<size_t>(l)] = std::accumulate(load.begin(), load.end(), 0.0) / ranks;
  }
}

//-----------------------------------------------------------------------------
// [SECTION] plots
//-----------------------------------------------------------------------------

// Bars of `values` (before in grey, after in colour) with a dashed line at the mean.
void draw_pair_bars(const char* x_label, const double* before, const double* after, int32_t n, double mean,
                    ImVec2 size, const std::function<std::string(int32_t)>& tick) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  const float font = ImGui::GetFontSize();
  const float x0 = p.x + font * 3.5f, x1 = p.x + size.x - 4, y0 = p.y + 4, y1 = p.y + size.y - font * 2.6f;
  double largest = mean;
  for (int32_t i = 0; i < n; ++i) largest = std::max({largest, before[i], after[i]});
  const ValueAxis value_axis = round_value_axis(largest);
  const double top = value_axis.top;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled),
              grey = ImGui::GetColorU32(ImGuiCol_TextDisabled, 0.6f);
  draw_value_axis(dl, value_axis, x0, x1, y0, y1);
  const float slot = (x1 - x0) / static_cast<float>(std::max(1, n));
  const size_t every = std::max<size_t>(1, static_cast<size_t>(font * 2.5f / std::max(1.0f, slot)) + 1);
  for (int32_t i = 0; i < n; ++i) {
    const float xa = x0 + slot * static_cast<float>(i), bw = std::max(1.0f, slot * 0.4f);
    const float hb = static_cast<float>(before[i] / top) * (y1 - y0),
                ha = static_cast<float>(after[i] / top) * (y1 - y0);
    dl->AddRectFilled(ImVec2(xa + slot * 0.1f, y1 - hb), ImVec2(xa + slot * 0.1f + bw, y1), grey);
    dl->AddRectFilled(ImVec2(xa + slot * 0.5f, y1 - ha), ImVec2(xa + slot * 0.5f + bw, y1),
                      categorical_color(2));
    if (static_cast<size_t>(i) % every == 0) {
      const std::string t = tick(i);
      dl->AddText(ImVec2(xa + slot * 0.5f - ImGui::CalcTextSize(t.c_str()).x * 0.5f, y1 + 2), axis,
                  t.c_str());
    }
  }
  const float ym = y1 - static_cast<float>(mean / top) * (y1 - y0);
  for (float x = x0; x < x1; x += 8)
    dl->AddLine(ImVec2(x, ym), ImVec2(std::min(x + 4, x1), ym), ImGui::GetColorU32(ImGuiCol_Text), 1.5f);
  dl->AddLine(ImVec2(x0, y1), ImVec2(x1, y1), axis);
  dl->AddText(ImVec2((x0 + x1 - ImGui::CalcTextSize(x_label).x) * 0.5f, y1 + font * 1.3f),
              ImGui::GetColorU32(ImGuiCol_Text), x_label);
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_placement_view(AppState& app) {
  auto run = app.selected_run();
  if (!run || run->routing.n_tokens == 0 || run->routing.n_layers == 0) {
    draw_empty_hint(app.doc ? "Select a run with routing in the sidebar"
                            : "Open a session (File > Open session) or start a run");
    return;
  }
  const auto& r = run->routing;
  PlacementState& s = app.placement;
  const float w = ImGui::GetFontSize() * 8;
  draw_layer_slider(app, *run);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  ImGui::SliderInt("ranks", &s.ranks, 1, std::max(1, std::min(r.n_experts, 64)));
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w);
  ImGui::Combo("placement", &s.method, kMethods, 3);
  if (s.method == 2) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(w);
    ImGui::SliderInt("redundant copies", &s.replicas, 0, std::max(1, r.n_experts),
                     s.replicas == 0 ? "one per rank" : "%d");
  }
  const RunCache& cache = app.cache_for(*run);
  update_placement(s, *run, cache);
  const int32_t l = std::clamp(app.layer, 0, r.n_layers - 1);
  const int32_t R = s.n_ranks;
  const double mean = s.mean[static_cast<size_t>(l)];
  double sum_before = 0, sum_after = 0;
  for (int32_t i = 0; i < r.n_layers; ++i) {
    const double m = std::max(1e-12, s.mean[static_cast<size_t>(i)]);
    sum_before += s.max_before[static_cast<size_t>(i)] / m,
        sum_after += s.max_after[static_cast<size_t>(i)] / m;
  }
  ImGui::Text(
      "busiest rank over the mean: %.3f contiguous -> %.3f %s at this layer; %.3f -> %.3f over all %d layers",
      s.max_before[static_cast<size_t>(l)] / std::max(1e-12, mean),
      s.max_after[static_cast<size_t>(l)] / std::max(1e-12, mean), kMethods[s.method],
      sum_before / r.n_layers, sum_after / r.n_layers, r.n_layers);
  ImGui::TextDisabled(
      "grey: contiguous blocks of experts per rank; colour: %s; dashed: the mean (a perfect balance)",
      kMethods[s.method]);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::TextUnformatted("Assignments per rank at this layer");
  draw_pair_bars("rank", s.before.data() + static_cast<ptrdiff_t>(l) * R,
                 s.after.data() + static_cast<ptrdiff_t>(l) * R, R, mean, ImVec2(avail.x, avail.y * 0.45f),
                 [](int32_t i) { return std::to_string(i); });
  ImGui::TextUnformatted("Busiest rank at every layer");
  std::vector<double> ratio_before(static_cast<size_t>(r.n_layers)),
      ratio_after(static_cast<size_t>(r.n_layers));
  for (size_t i = 0; i < ratio_before.size(); ++i) {
    ratio_before[i] = s.max_before[i] / std::max(1e-12, s.mean[i]);
    ratio_after[i] = s.max_after[i] / std::max(1e-12, s.mean[i]);
  }
  draw_pair_bars("MoE layer (busiest rank / mean)", ratio_before.data(), ratio_after.data(), r.n_layers, 1.0,
                 ImGui::GetContentRegionAvail(), [&](int32_t i) {
                   return std::to_string(r.layer_ids.empty() ? i : r.layer_ids[static_cast<size_t>(i)]);
                 });
}

}  // namespace moescope::ui
