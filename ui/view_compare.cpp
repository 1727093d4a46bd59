// Compare view: two tags (all their runs pooled) or two runs side by side: Jensen-Shannon
// divergence per layer, the difference of load shares as a heatmap (layers x experts), both
// load distributions at the selected layer, and the experts most specific to each side.
// [SECTION] index: groups, panels, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include "core/analysis/divergence.h"
#include "ui/colormap.h"
#include "ui/heatmap_image.h"
#include "ui/permutation_histogram.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] groups
//-----------------------------------------------------------------------------

// Per-run load values (runs x layers x experts) of one tag up to which a tag comparison runs the
// permutation test: it pools every run of both tags 1000 times (two tags of 50,000 runs x 16
// values took 13 s in one frame; this bound keeps it near a second on one core).
constexpr size_t kMaxPermutationCells = size_t{1} << 17;

// Each layer's counts as shares of that layer's total; false when there are none.
bool shares_of(const CompareState& c, const std::vector<double>& counts, std::vector<double>& share) {
  share.assign(static_cast<size_t>(c.n_layers) * c.n_experts, 0.0);
  if (counts.empty()) return false;
  for (int32_t l = 0; l < c.n_layers; ++l) {
    double sum = 0;
    for (int32_t e = 0; e < c.n_experts; ++e) sum += counts[static_cast<size_t>(l) * c.n_experts + e];
    for (int32_t e = 0; e < c.n_experts; ++e) {
      const size_t i = static_cast<size_t>(l) * c.n_experts + e;
      share[i] = sum > 0 ? counts[i] / sum : 0.0;
    }
  }
  return true;
}

// Sums expert loads of `runs` into counts and share (n_layers, n_experts), each run's loads into
// `per_run`; false when shapes disagree.
bool pool_loads(AppState& app, const std::vector<int64_t>& runs, CompareState& c, std::vector<double>& counts, std::vector<double>& share,
                std::vector<std::vector<double>>& per_run) {
  counts.clear();
  per_run.clear();
  for (int64_t id : runs) {
    auto run = app.doc->run(id);
    if (!run || run->routing.n_tokens == 0) continue;
    const auto& r = run->routing;
    if (c.n_layers == 0) {
      c.n_layers = r.n_layers;
      c.n_experts = r.n_experts;
      c.layer_ids = r.layer_ids;
    }
    if (r.n_layers != c.n_layers || r.n_experts != c.n_experts) {
      c.error = "run " + std::to_string(id) + " has a different shape (another model?) and is left out";
      continue;
    }
    const RunCache& cache = app.cache_for(*run);
    counts.resize(cache.summary.expert_counts.size(), 0.0);
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += static_cast<double>(cache.summary.expert_counts[i]);
    per_run.emplace_back(cache.summary.expert_counts.begin(), cache.summary.expert_counts.end());
  }
  return shares_of(c, counts, share);
}

// A tag's loads summed by the session file in SQL (SessionSource::tag_loads), without loading its
// runs; nullopt when the source cannot (synthetic, live), false (c.error says why) when refused.
std::optional<bool> pool_tag_loads(AppState& app, const std::string& tag, CompareState& c, std::vector<double>& counts,
                                   std::vector<double>& share, std::vector<std::vector<double>>& per_run) {
  std::optional<TagLoads> loads;
  try {
    loads = app.doc->tag_loads(tag, kMaxPermutationCells);
  } catch (const std::exception& e) {
    c.error = e.what();
    return false;
  }
  if (!loads) return std::nullopt;
  counts.clear();
  per_run.clear();
  if (loads->counts.empty()) return false;
  const int32_t n_layers = static_cast<int32_t>(loads->layer_ids.size());
  if (c.n_layers == 0) {
    c.n_layers = n_layers;
    c.n_experts = loads->n_experts;
    c.layer_ids = loads->layer_ids;
  }
  if (n_layers != c.n_layers || loads->n_experts != c.n_experts) {
    c.error = "the runs tagged '" + tag + "' have a different shape (another model?)";
    return false;
  }
  counts = std::move(loads->counts);
  per_run = std::move(loads->per_run);
  if (loads->per_run_left_out) {
    c.error = "permutation test left out: the runs tagged '" + tag + "' hold more than " + std::to_string(kMaxPermutationCells) +
              " per-run loads (the test reshuffles them 1000 times)";
  }
  return shares_of(c, counts, share);
}

std::vector<int64_t> runs_of_tag(const SessionDoc& doc, const std::string& tag) {
  std::vector<int64_t> out;
  for (const auto& r : doc.runs()) {
    if (r.tag == tag && r.id > 0 && r.status == "complete") out.push_back(r.id);
  }
  return out;
}

void update_groups(AppState& app) {
  CompareState& c = app.compare;
  const auto tags = app.doc->tags();
  if (c.tag_a.empty() && !tags.empty()) c.tag_a = tags[0];
  if (c.tag_b.empty() && tags.size() > 1) c.tag_b = tags[1];
  const auto& runs = app.doc->runs();
  if (c.run_a == 0 && !runs.empty()) c.run_a = runs[0].id;
  if (c.run_b == 0 && runs.size() > 1) c.run_b = runs[1].id;
  // A session of one tag (an import) has no second tag: compare its first two runs.
  if (c.mode == 0 && tags.size() < 2 && runs.size() > 1 && c.key.empty()) c.mode = 1;
  const std::string key = std::to_string(app.doc->version()) + "|" + std::to_string(c.mode) + "|" +
                          (c.mode == 0 ? c.tag_a + "|" + c.tag_b : std::to_string(c.run_a) + "|" + std::to_string(c.run_b));
  if (c.key == key) return;
  c.key = key;
  c.error.clear();
  c.n_layers = c.n_experts = 0;
  c.has_test = false;
  // A group compared with itself has no second group: every statistic would be 0/0.
  if (c.mode == 0 && c.tag_a == c.tag_b) {
    c.error = "Pick two different tags: '" + c.tag_a + "' compared with itself has nothing to compare";
    return;
  }
  if (c.mode == 1 && c.run_a == c.run_b) {
    c.error = "Pick two different runs: run #" + std::to_string(c.run_a) + " compared with itself has nothing to compare";
    return;
  }
  std::vector<int64_t> a, b;
  if (c.mode == 0) {
    a = runs_of_tag(*app.doc, c.tag_a);
    b = runs_of_tag(*app.doc, c.tag_b);
    c.label_a = c.tag_a + " (" + std::to_string(a.size()) + " runs)";
    c.label_b = c.tag_b + " (" + std::to_string(b.size()) + " runs)";
  } else {
    a = {c.run_a};
    b = {c.run_b};
    c.label_a = "run #" + std::to_string(c.run_a);
    c.label_b = "run #" + std::to_string(c.run_b);
  }
  std::vector<std::vector<double>> runs_a, runs_b;
  // By tag, a session file sums the loads in SQL: 100,000 imported runs are never loaded.
  bool ok = false;
  const std::optional<bool> pooled_a = c.mode == 0 ? pool_tag_loads(app, c.tag_a, c, c.counts_a, c.share_a, runs_a) : std::nullopt;
  if (pooled_a) {
    ok = *pooled_a && pool_tag_loads(app, c.tag_b, c, c.counts_b, c.share_b, runs_b).value_or(false);
  } else {
    ok = pool_loads(app, a, c, c.counts_a, c.share_a, runs_a) & pool_loads(app, b, c, c.counts_b, c.share_b, runs_b);
  }
  c.js.assign(static_cast<size_t>(c.n_layers), 0.0);
  c.diff.assign(static_cast<size_t>(c.n_layers) * c.n_experts, 0.0f);
  if (!ok) {
    if (c.error.empty()) c.error = "each side needs at least one run with routing";
    c.n_layers = c.n_experts = 0;  // the view shows the error, not half-filled arrays
    return;
  }
  for (int32_t l = 0; l < c.n_layers; ++l) {
    const auto begin = static_cast<ptrdiff_t>(l) * c.n_experts;
    const std::vector<double> pa(c.share_a.begin() + begin, c.share_a.begin() + begin + c.n_experts);
    const std::vector<double> pb(c.share_b.begin() + begin, c.share_b.begin() + begin + c.n_experts);
    const double js = analysis::js_divergence(pa, pb);  // NaN when a side routed nothing
    c.js[static_cast<size_t>(l)] = std::isnan(js) ? 0.0 : js;
    for (int32_t e = 0; e < c.n_experts; ++e) c.diff[static_cast<size_t>(begin + e)] = static_cast<float>(pa[e] - pb[e]);
  }
  if (c.mode == 0 && runs_a.size() >= 2 && runs_b.size() >= 2) {
    // As `moescope compare --tags`: 1000 random splits of the runs, seeded, so the same session
    // shows the same null distribution and p-value in both.
    c.test = analysis::jsd_permutation_test(runs_a, runs_b, c.n_layers, c.n_experts, 1000);
    c.has_test = true;
  }
  app.heat_diff.key = 0;  // rebuild the texture
}

//-----------------------------------------------------------------------------
// [SECTION] panels
//-----------------------------------------------------------------------------

void draw_js_bars(AppState& app, const CompareState& c, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##js", size);
  const float font = ImGui::GetFontSize();
  const float left = font * 3.2f, bottom = font * 1.5f;
  const ImVec2 a(p.x + left, p.y + 4), b(p.x + size.x, p.y + size.y - bottom);
  double max_js = 1e-9;
  for (double v : c.js) max_js = std::max(max_js, v);
  const float bw = (b.x - a.x) / static_cast<float>(std::max(1, c.n_layers));
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  char buf[32];
  for (int i = 0; i <= 2; ++i) {
    const float y = b.y - (b.y - a.y) * i / 2.0f;
    dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), ImGui::GetColorU32(ImGuiCol_Border));
    std::snprintf(buf, sizeof buf, "%.3f", max_js * i / 2);
    dl->AddText(ImVec2(a.x - ImGui::CalcTextSize(buf).x - 4, y - font * 0.5f), text, buf);
  }
  const ColorLut& lut = colormap_lut(app.settings.colormap);
  for (int32_t l = 0; l < c.n_layers; ++l) {
    const double v = c.js[static_cast<size_t>(l)];
    const float x0 = a.x + l * bw + 1, x1 = a.x + (l + 1) * bw - 1;
    const float h = static_cast<float>(v / max_js) * (b.y - a.y);
    dl->AddRectFilled(ImVec2(x0, b.y - h), ImVec2(x1, b.y), lut[static_cast<size_t>(60 + 190 * v / max_js)], 2.0f);
    if (l == app.layer) dl->AddRect(ImVec2(x0 - 1, a.y), ImVec2(x1 + 1, b.y), ImGui::GetColorU32(ImGuiCol_Text), 2.0f);
    if (c.n_layers <= 32 || l % (c.n_layers / 16 + 1) == 0) {
      std::snprintf(buf, sizeof buf, "%d", c.layer_ids.empty() ? l : c.layer_ids[static_cast<size_t>(l)]);
      dl->AddText(ImVec2((x0 + x1) * 0.5f - ImGui::CalcTextSize(buf).x * 0.5f, b.y + 2), text, buf);
    }
    const ImVec2 m = ImGui::GetIO().MousePos;
    if (ImGui::IsItemHovered() && m.x >= x0 - 1 && m.x < x1 + 1) {
      ImGui::SetTooltip("layer %d: JS divergence %.4f bits (max 1)", c.layer_ids.empty() ? l : c.layer_ids[static_cast<size_t>(l)], v);
      if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) app.layer = l;
    }
  }
}

void draw_distributions(AppState& app, const CompareState& c, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##dist", size);
  const float font = ImGui::GetFontSize();
  const ImVec2 a(p.x + font * 3.2f, p.y + font * 1.4f), b(p.x + size.x, p.y + size.y - font * 1.4f);
  const int32_t l = std::clamp(app.layer, 0, c.n_layers - 1);
  const size_t base = static_cast<size_t>(l) * c.n_experts;
  double max_share = 1e-9;
  for (int32_t e = 0; e < c.n_experts; ++e) max_share = std::max({max_share, c.share_a[base + e], c.share_b[base + e]});
  const float bw = (b.x - a.x) / static_cast<float>(c.n_experts);
  const ImU32 col_a = categorical_color(0), col_b = categorical_color(1);
  for (int32_t e = 0; e < c.n_experts; ++e) {
    const float x0 = a.x + e * bw;
    const float ha = static_cast<float>(c.share_a[base + e] / max_share) * (b.y - a.y);
    const float hb = static_cast<float>(c.share_b[base + e] / max_share) * (b.y - a.y);
    dl->AddRectFilled(ImVec2(x0, b.y - ha), ImVec2(x0 + bw * 0.48f, b.y), col_a);
    dl->AddRectFilled(ImVec2(x0 + bw * 0.5f, b.y - hb), ImVec2(x0 + bw * 0.98f, b.y), col_b);
  }
  const float uniform_y = b.y - static_cast<float>(1.0 / c.n_experts / max_share) * (b.y - a.y);
  dl->AddLine(ImVec2(a.x, uniform_y), ImVec2(b.x, uniform_y), ImGui::GetColorU32(ImGuiCol_Text));
  dl->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, b.y), ImGui::GetColorU32(ImGuiCol_Border));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", max_share);
  dl->AddText(ImVec2(a.x - ImGui::CalcTextSize(buf).x - 4, a.y - font * 0.5f), ImGui::GetColorU32(ImGuiCol_TextDisabled), buf);
  // Legend.
  float x = a.x;
  for (int side = 0; side < 2; ++side) {
    const std::string& label = side == 0 ? c.label_a : c.label_b;
    dl->AddRectFilled(ImVec2(x, p.y + 3), ImVec2(x + font * 0.8f, p.y + 3 + font * 0.8f), side == 0 ? col_a : col_b, 2);
    dl->AddText(ImVec2(x + font, p.y), ImGui::GetColorU32(ImGuiCol_Text), label.c_str());
    x += font * 2 + ImGui::CalcTextSize(label.c_str()).x;
  }
  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered() && m.x >= a.x && m.x < b.x) {
    const auto e = std::min(c.n_experts - 1, static_cast<int32_t>((m.x - a.x) / bw));
    ImGui::SetTooltip("expert %d\n%s: %.4f\n%s: %.4f\nuniform: %.4f", e, c.label_a.c_str(), c.share_a[base + e], c.label_b.c_str(),
                      c.share_b[base + e], 1.0 / c.n_experts);
  }
}

// The permutation test's null distribution (the mean JSD of random splits of the runs) as a
// histogram, with the observed mean JSD marked: how far out the real split lies. The x axis ends
// and ticks at round values (ui/permutation_histogram.h).
void draw_null_distribution(const CompareState& c, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  const float font = ImGui::GetFontSize();
  const ImVec2 a(p.x + font * 3.2f, p.y + font * 1.3f), b(p.x + size.x - font, p.y + size.y - font * 1.4f);
  if (b.x <= a.x || b.y <= a.y) return;
  const PermutationHistogram h = permutation_histogram(c.test);
  const int top = std::max(1, *std::max_element(h.bins.begin(), h.bins.end()));
  const float bw = (b.x - a.x) / static_cast<float>(h.bins.size());
  const ImU32 bar = ImGui::GetColorU32(ImGuiCol_PlotHistogram), text = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  for (size_t i = 0; i < h.bins.size(); ++i) {
    const float bh = static_cast<float>(h.bins[i]) / static_cast<float>(top) * (b.y - a.y);
    dl->AddRectFilled(ImVec2(a.x + i * bw + 0.5f, b.y - bh), ImVec2(a.x + (i + 1) * bw - 0.5f, b.y), bar);
  }
  dl->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, b.y), ImGui::GetColorU32(ImGuiCol_Border));
  char buf[96];
  std::snprintf(buf, sizeof buf, "%d", top);
  dl->AddText(ImVec2(a.x - ImGui::CalcTextSize(buf).x - 4, a.y), text, buf);
  dl->AddText(ImVec2(p.x, b.y - font), text, "splits");
  const int ticks = static_cast<int>(std::lround(h.axis.top / h.axis.step));
  for (int i = 0; i <= ticks; ++i) {
    std::snprintf(buf, sizeof buf, "%.4g", h.axis.step * i);
    const float x = a.x + (b.x - a.x) * static_cast<float>(i) / static_cast<float>(std::max(1, ticks));
    dl->AddLine(ImVec2(x, b.y), ImVec2(x, b.y + 3), text);
    dl->AddText(ImVec2(x - ImGui::CalcTextSize(buf).x * 0.5f, b.y + 2), text, buf);
  }
  const float x = a.x + static_cast<float>(h.observed_fraction) * (b.x - a.x);
  const ImU32 mark = categorical_color(3);
  dl->AddLine(ImVec2(x, a.y - 2), ImVec2(x, b.y), mark, 2.0f);
  std::snprintf(buf, sizeof buf, "observed %.4f bits, p = %.3g", c.test.observed, c.test.p_value);
  const float tw = ImGui::CalcTextSize(buf).x;
  dl->AddText(ImVec2(std::clamp(x - tw * 0.5f, p.x, p.x + size.x - tw), p.y), mark, buf);
}

// The experts whose share for one side most exceeds the other's, pooled over layers, among those
// with at least c.min_support assignments (a ratio over a handful of tokens is noise).
// A click on one highlights that expert, at that layer, in every view.
void draw_specific_experts(AppState& app) {
  const CompareState& c = app.compare;
  struct Item {
    int32_t layer, expert;
    double ratio, a, b;
  };
  std::vector<Item> for_a, for_b;
  for (int32_t l = 0; l < c.n_layers; ++l) {
    for (int32_t e = 0; e < c.n_experts; ++e) {
      const size_t i = static_cast<size_t>(l) * c.n_experts + e;
      const double a = c.share_a[i], b = c.share_b[i];
      if (c.counts_a[i] + c.counts_b[i] < c.min_support) continue;
      for_a.push_back({l, e, (a + 1e-4) / (b + 1e-4), a, b});
      for_b.push_back({l, e, (b + 1e-4) / (a + 1e-4), a, b});
    }
  }
  auto top = [](std::vector<Item>& v) {
    const size_t n = std::min<size_t>(8, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<ptrdiff_t>(n), v.end(), [](const Item& x, const Item& y) { return x.ratio > y.ratio; });
    v.resize(n);
  };
  top(for_a);
  top(for_b);
  if (!ImGui::BeginTable("##specific", 2, ImGuiTableFlags_BordersInnerV)) return;
  for (int side = 0; side < 2; ++side) {
    ImGui::TableNextColumn();
    ImGui::Text("most specific to %s", side == 0 ? c.label_a.c_str() : c.label_b.c_str());
    for (const Item& it : side == 0 ? for_a : for_b) {
      ImGui::TextDisabled("L%-3d", c.layer_ids.empty() ? it.layer : c.layer_ids[static_cast<size_t>(it.layer)]);
      ImGui::SameLine();
      char label[96];
      std::snprintf(label, sizeof label, "E%-4d %.1fx   %.3f vs %.3f##%d.%d.%d", it.expert, it.ratio, side == 0 ? it.a : it.b,
                    side == 0 ? it.b : it.a, side, it.layer, it.expert);
      if (ImGui::Selectable(label, app.selection.expert == it.expert && app.layer == it.layer)) {
        app.selection.toggle_expert(it.expert);
        app.layer = it.layer;
      }
    }
  }
  ImGui::EndTable();
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_compare_view(AppState& app) {
  if (!app.doc || app.doc->runs().empty()) {
    draw_empty_hint("Open a session with runs to compare");
    return;
  }
  CompareState& c = app.compare;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
  ImGui::Combo("##mode", &c.mode, "by tag\0two runs\0");
  const auto tags = app.doc->tags();
  auto pick_tag = [&](const char* id, std::string& tag) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
    if (ImGui::BeginCombo(id, tag.c_str())) {
      for (const auto& t : tags) {
        if (ImGui::Selectable(t.c_str(), t == tag)) tag = t;
      }
      ImGui::EndCombo();
    }
  };
  auto pick_run = [&](const char* id, int64_t& run) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
    char current[32];
    std::snprintf(current, sizeof current, "#%lld", static_cast<long long>(run));
    if (ImGui::BeginCombo(id, current)) {
      for (const auto& r : app.doc->runs()) {
        char label[96];
        std::snprintf(label, sizeof label, "#%lld %s", static_cast<long long>(r.id), r.tag.c_str());
        if (ImGui::Selectable(label, r.id == run)) run = r.id;
      }
      ImGui::EndCombo();
    }
  };
  if (c.mode == 0) {
    pick_tag("##taga", c.tag_a);
    ImGui::SameLine();
    ImGui::TextUnformatted("vs");
    pick_tag("##tagb", c.tag_b);
  } else {
    pick_run("##runa", c.run_a);
    ImGui::SameLine();
    ImGui::TextUnformatted("vs");
    pick_run("##runb", c.run_b);
  }
  update_groups(app);
  if (c.n_layers == 0) {
    draw_empty_hint(c.error.empty() ? "Nothing to compare" : c.error.c_str());
    return;
  }
  ImGui::SameLine();
  app.layer = std::clamp(app.layer, 0, c.n_layers - 1);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 16);
  ImGui::SliderInt("##cmplayer", &app.layer, 0, c.n_layers - 1, "MoE layer %d");
  if (!c.error.empty()) ImGui::TextColored(ImVec4(1, 0.6f, 0.3f, 1), "%s", c.error.c_str());

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float half = (avail.x - gap) * 0.5f;
  const float top_h = avail.y * 0.5f;
  ImGui::BeginChild("##jsd", ImVec2(half, top_h), true);
  ImGui::TextUnformatted("Jensen-Shannon divergence per layer");
  ImGui::SameLine();
  ImGui::TextDisabled("of the expert load distributions; click a bar to pick the layer");
  if (c.has_test) {
    const ImVec2 area = ImGui::GetContentRegionAvail();
    draw_js_bars(app, c, ImVec2(area.x, area.y * 0.55f));
    ImGui::TextUnformatted("Permutation test");
    ImGui::SameLine();
    ImGui::TextDisabled("mean JSD of %d random splits of the runs vs the observed split", c.test.n_permutations);
    draw_null_distribution(c, ImGui::GetContentRegionAvail());
  } else {
    draw_js_bars(app, c, ImGui::GetContentRegionAvail());
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##diff", ImVec2(0, top_h), true);
  ImGui::TextUnformatted("Load share difference");
  ImGui::SameLine();
  ImGui::TextDisabled("%s minus %s, layers x experts", c.label_a.c_str(), c.label_b.c_str());
  float max_abs = 1e-6f;
  for (float v : c.diff) max_abs = std::max(max_abs, std::fabs(v));
  if (!app.heat_diff.holds(1)) {
    upload_heatmap(app.heat_diff, render_heatmap(c.n_layers, c.n_experts, c.diff.data(), -max_abs, max_abs, diverging_lut(), kMaxTextureSide, kMaxTextureSide), 1);
  }
  const ImVec2 inner = ImGui::GetContentRegionAvail();
  const float bar_w = ImGui::GetFontSize() * 5.5f;
  bool clicked = false;
  const GridCell cell = draw_heatmap("##diffmap", app.heat_diff, ImVec2(inner.x - bar_w, inner.y), {"expert", "layer"},
                                     {-1, app.selection.expert}, &clicked);
  if (clicked && cell.row >= 0) {
    app.selection.toggle_expert(cell.col);
    app.layer = cell.row;
  }
  ImGui::SetCursorPos(ImVec2(inner.x - bar_w + ImGui::GetStyle().WindowPadding.x + 6, ImGui::GetTextLineHeightWithSpacing() + ImGui::GetStyle().WindowPadding.y));
  draw_colorbar(diverging_lut(), -max_abs, max_abs, "A - B", ImVec2(bar_w - 6, inner.y));
  ImGui::EndChild();
  if (cell.row >= 0) {
    const size_t i = static_cast<size_t>(cell.row) * c.n_experts + cell.col;
    ImGui::SetTooltip("layer %d, expert %d\n%s: %.4f\n%s: %.4f", c.layer_ids.empty() ? cell.row : c.layer_ids[static_cast<size_t>(cell.row)],
                      cell.col, c.label_a.c_str(), c.share_a[i], c.label_b.c_str(), c.share_b[i]);
  }
  ImGui::BeginChild("##dists", ImVec2(half, 0), true);
  ImGui::Text("Load distribution, layer %d", c.layer_ids.empty() ? app.layer : c.layer_ids[static_cast<size_t>(std::clamp(app.layer, 0, c.n_layers - 1))]);
  draw_distributions(app, c, ImGui::GetContentRegionAvail());
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##specific", ImVec2(0, 0), true);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 18);
  ImGui::SliderInt("##support", &c.min_support, 0, 1000, "min support %d assignments", ImGuiSliderFlags_Logarithmic);
  draw_specific_experts(app);
  ImGui::EndChild();
}

}  // namespace moescope::ui
