// Drawing the timeline's counter rows and its modelled all-to-all row. [SECTION] index: rebuild,
// counter rows, modelled all-to-all, rows.
#include "ui/timeline_counter_tracks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "ui/colormap.h"
#include "ui/model_card.h"
#include "ui/script_player.h"
#include "ui/style.h"
#include "ui/timeline_tracks.h"

namespace moescope::ui {
namespace {

float counter_row_height(float font) { return font * 2.4f; }
float counter_row_gap() { return 4.0f; }

//-----------------------------------------------------------------------------
// [SECTION] rebuild
//-----------------------------------------------------------------------------

void rebuild_counters(AppState& app, const RunData& run) {
  TimelineState& s = app.timeline;
  TimelineCounters& c = s.counters;
  if (c.key != s.key) {
    c.tokens_per_s = tokens_per_second(run.routing.step_of_token, s.steps);
    c.exchanges = place_modelled_exchanges(run.traffic, s.steps, s.phases, s.layers);
    c.key = s.key;
    c.expert_key = 0;
  }
  const uint64_t expert_key = mix_key(mix_key(s.key, static_cast<uint64_t>(app.layer)),
                                      static_cast<uint64_t>(app.selection.expert + 1));
  if (c.expert_key != expert_key) {
    c.expert = app.selection.expert;
    c.layer = app.layer;
    c.expert_tokens = expert_tokens_per_step(run.routing, s.steps, c.layer, c.expert);
    c.expert_key = expert_key;
  }
}

//-----------------------------------------------------------------------------
// [SECTION] counter rows
//-----------------------------------------------------------------------------

// A filled step plot, one rectangle per run of pixel columns with the same value; the largest
// value in view reaches the row's top (as Tracy's plots scale), so decode steps stay readable
// beside a prefill step many times faster. Returns that value.
double draw_counter_row(ImDrawList* dl, const CounterTrack& track, const TimelineFrame& f, float y0, float y1,
                        ImU32 colour) {
  const int n = std::max(1, static_cast<int>(f.x1 - f.x0));
  const std::vector<double> cols = column_max(track, f.t0_us, f.t1_us, n);
  double in_view = 0;
  for (double v : cols) in_view = std::max(in_view, v);
  const double top = in_view > 0 ? in_view : 1;
  const float px = (f.x1 - f.x0) / static_cast<float>(n);
  int c = 0;
  while (c < n) {
    int d = c + 1;
    while (d < n && cols[static_cast<size_t>(d)] == cols[static_cast<size_t>(c)]) ++d;
    const double v = cols[static_cast<size_t>(c)];
    if (v > 0) {
      const float h = static_cast<float>(v / top) * (y1 - y0);
      dl->AddRectFilled(ImVec2(f.x0 + px * c, y1 - std::max(1.0f, h)), ImVec2(f.x0 + px * d, y1), colour);
    }
    c = d;
  }
  dl->AddLine(ImVec2(f.x0, y1), ImVec2(f.x1, y1), ImGui::GetColorU32(ImGuiCol_Border));
  return in_view;
}

// The row's scale, at its top right where the plot rarely reaches over the whole width.
void draw_row_scale(ImDrawList* dl, const TimelineFrame& f, float y, const char* text) {
  const ImVec2 ts = ImGui::CalcTextSize(text);
  const ImVec2 a(f.x1 - ts.x - 4, y);
  dl->AddRectFilled(a, ImVec2(f.x1, y + ts.y), ImGui::GetColorU32(ImGuiCol_ChildBg, 0.85f));
  dl->AddText(ImVec2(a.x + 2, y), ImGui::GetColorU32(ImGuiCol_TextDisabled), text);
}

void counter_tooltip(const CounterTrack& track, double t, const char* what) {
  const CounterSample* s = sample_at(track, t);
  if (s == nullptr) return;
  ImGui::BeginTooltip();
  ImGui::Text("step %lld: %s %s", static_cast<long long>(s->step), format_count(s->value).c_str(), what);
  ImGui::TextDisabled("%s long, starts at %s", format_us(s->end_us - s->begin_us).c_str(),
                      format_us(s->begin_us).c_str());
  ImGui::TextDisabled("largest over the run: %s", format_count(track.max_value).c_str());
  ImGui::EndTooltip();
}

//-----------------------------------------------------------------------------
// [SECTION] modelled all-to-all
//-----------------------------------------------------------------------------

// The modelled exchanges as zones; runs of zones under 3 px fold into one grey block (found by
// binary search, so a zoomed-out run of 600,000 exchanges costs one search per block). Returns
// the exchange under the mouse, or null.
const ModelledExchange* draw_exchange_row(ImDrawList* dl, const std::vector<ModelledExchange>& ex,
                                          const TimelineFrame& f, float y0, float y1) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const bool mouse_in_row = mouse.y >= y0 && mouse.y < y1;
  const double per_px = (f.t1_us - f.t0_us) / std::max(1.0f, f.x1 - f.x0);
  auto x_of = [&](double t) { return f.x0 + static_cast<float>((t - f.t0_us) / per_px); };
  const ImU32 colour = (phase_color(static_cast<int>(Phase::all_to_all)) & 0x00FFFFFFu) | 0xB4000000u;
  const ImU32 folded = IM_COL32(128, 128, 140, 200);
  const ModelledExchange* hovered = nullptr;
  auto i = std::lower_bound(ex.begin(), ex.end(), f.t0_us,
                            [](const ModelledExchange& e, double t) { return e.end_us <= t; });
  while (i != ex.end() && i->begin_us < f.t1_us) {
    const float xa = std::max(f.x0, x_of(i->begin_us)), xb = std::min(f.x1, x_of(i->end_us));
    if (xb - xa >= 3.0f) {
      dl->AddRectFilled(ImVec2(xa, y0), ImVec2(xb - 1, y1), colour, 2.0f);
      const std::string label = format_us(i->modeled_us);
      if (xb - xa > ImGui::CalcTextSize(label.c_str()).x + 6) {
        dl->AddText(ImVec2(xa + 3, y0 + (y1 - y0 - ImGui::GetFontSize()) * 0.5f), IM_COL32(20, 20, 25, 255),
                    label.c_str());
      }
      if (mouse_in_row && mouse.x >= xa && mouse.x < xb) hovered = &*i;
      ++i;
      continue;
    }
    // Fold everything that starts within the next 3 px.
    const double fold_end = i->begin_us + 3 * per_px;
    const auto j = std::lower_bound(i, ex.end(), fold_end,
                                    [](const ModelledExchange& e, double t) { return e.begin_us < t; });
    const float xe = std::min(f.x1, std::max(xa + 1, x_of(std::prev(j)->end_us)));
    dl->AddRectFilled(ImVec2(xa, y0), ImVec2(xe, y1), folded);
    if (mouse_in_row && mouse.x >= xa && mouse.x < xe) hovered = &*i;
    i = j;
  }
  return hovered;
}

void exchange_tooltip(const ModelledExchange& e) {
  ImGui::BeginTooltip();
  ImGui::Text("all-to-all, step %lld, layer %d", static_cast<long long>(e.step), e.layer);
  ImGui::Text("modelled %s (dispatch + combine)", format_us(e.modeled_us).c_str());
  if (e.measured_us > 0) ImGui::Text("measured %s", format_us(e.measured_us).c_str());
  if (e.phase_us > 0)
    ImGui::TextDisabled("all-to-all phases on the timeline: %s", format_us(e.phase_us).c_str());
  ImGui::TextDisabled("starts at %s", format_us(e.begin_us).c_str());
  ImGui::EndTooltip();
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] rows
//-----------------------------------------------------------------------------

float counter_tracks_height(const RunData& run, float font) {
  const int rows = run.traffic.empty() ? 2 : 3;
  return rows * (counter_row_height(font) + counter_row_gap());
}

void draw_counter_tracks(AppState& app, const RunData& run, ImDrawList* dl, const TimelineFrame& f, float y0,
                         bool hovered_area) {
  rebuild_counters(app, run);
  const TimelineCounters& c = app.timeline.counters;
  const float font = ImGui::GetFontSize(), h = counter_row_height(font), gap = counter_row_gap();
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const double t_mouse = f.t0_us + (mouse.x - f.x0) / std::max(1.0f, f.x1 - f.x0) * (f.t1_us - f.t0_us);
  const bool in_x = hovered_area && mouse.x >= f.x0 && mouse.x < f.x1;
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  char buf[64];

  // tokens/s
  float y = y0;
  dl->PushClipRect(ImVec2(f.x0, y), ImVec2(f.x1, y + h), true);
  const double rate_top = draw_counter_row(dl, c.tokens_per_s, f, y + 2, y + h, IM_COL32(90, 170, 200, 255));
  std::snprintf(buf, sizeof buf, "top %s in view", format_count(rate_top).c_str());
  draw_row_scale(dl, f, y, buf);
  dl->PopClipRect();
  dl->AddText(ImVec2(f.label_x, y + (h - font) * 0.5f), text, "tokens/s");
  note_clickable_rect(app, "timeline:tokens per second", f.x0, y, f.x1, y + h);
  if (in_x && mouse.y >= y && mouse.y < y + h) counter_tooltip(c.tokens_per_s, t_mouse, "tokens/s");

  // the chosen expert's tokens per step
  y += h + gap;
  dl->PushClipRect(ImVec2(f.x0, y), ImVec2(f.x1, y + h), true);
  const int32_t layer_id = c.layer >= 0 && c.layer < static_cast<int32_t>(run.routing.layer_ids.size())
                               ? run.routing.layer_ids[static_cast<size_t>(c.layer)]
                               : c.layer;
  if (c.expert >= 0) {
    const double top = draw_counter_row(dl, c.expert_tokens, f, y + 2, y + h, categorical_color(c.expert));
    std::snprintf(buf, sizeof buf, "layer %d, top %s in view", layer_id, format_count(top).c_str());
    draw_row_scale(dl, f, y, buf);
  } else {
    dl->AddText(ImVec2(f.x0 + 2, y + (h - font) * 0.5f), dim,
                "click an expert (a legend swatch, a heatmap row) to count its tokens per step here");
  }
  dl->PopClipRect();
  std::snprintf(buf, sizeof buf, c.expert >= 0 ? "E%d tok" : "expert", c.expert);
  dl->AddText(ImVec2(f.label_x, y + (h - font) * 0.5f), text, buf);
  note_clickable_rect(app, "timeline:expert tokens", f.x0, y, f.x1, y + h);
  if (c.expert >= 0 && in_x && mouse.y >= y && mouse.y < y + h) {
    std::snprintf(buf, sizeof buf, "tokens to E%d at layer %d", c.expert, layer_id);
    counter_tooltip(c.expert_tokens, t_mouse, buf);
  }

  // the modelled all-to-all
  if (run.traffic.empty()) return;
  y += h + gap;
  const float zy0 = y + h * 0.2f, zy1 = y + h * 0.8f;
  dl->PushClipRect(ImVec2(f.x0, y), ImVec2(f.x1, y + h), true);
  const ModelledExchange* hovered = draw_exchange_row(dl, c.exchanges, f, zy0, zy1);
  dl->PopClipRect();
  dl->AddText(ImVec2(f.label_x, y + (h - font) * 0.5f), text, "a2a model");
  note_clickable_rect(app, "timeline:modelled all-to-all", f.x0, y, f.x1, y + h);
  if (hovered && hovered_area) exchange_tooltip(*hovered);
}

}  // namespace moescope::ui
