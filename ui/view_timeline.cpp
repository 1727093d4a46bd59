// Timeline: per forward step and layer, the phases as zones on tracks like a profiler (wheel to
// zoom, drag to pan, right-drag to measure a range), zones under 3 px folded into one marked
// block with a count, a per-phase statistics table over the range, and the EP traffic matrix of
// the selected layer and step (ui/ep_traffic_matrix.cpp); counter rows under the zone tracks
// (ui/timeline_counter_tracks.cpp). [SECTION] index: tracks, statistics, find zone, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <imgui_stdlib.h>

#include "ui/colormap.h"
#include "ui/ep_traffic_matrix.h"
#include "ui/script_player.h"
#include "ui/style.h"
#include "ui/timeline_counter_tracks.h"
#include "ui/timeline_link.h"
#include "ui/timeline_tracks.h"
#include "ui/timeline_transfer_track.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] tracks
//-----------------------------------------------------------------------------

struct Axis {
  float x0, x1;
  double t0, t1;
  float x(double t) const { return x0 + static_cast<float>((t - t0) / (t1 - t0)) * (x1 - x0); }
  double t(float x) const { return t0 + (x - x0) / (x1 - x0) * (t1 - t0); }
};

// Draws one track; returns the hovered zone or null. Runs of zones narrower than 3 px merge into
// one hatched block labelled with how many zones it holds.
const PlacedZone* draw_track(ImDrawList* dl, const std::vector<PlacedZone>& track, const Axis& ax, float y0, float y1,
                             int kind) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const PlacedZone* hovered = nullptr;
  const auto [first, last] = visible_range(track, ax.t0, ax.t1);
  const ImU32 text_dark = IM_COL32(20, 20, 25, 255);
  size_t i = first;
  while (i < last) {
    const PlacedZone& z = track[i];
    float xa = std::max(ax.x0, ax.x(z.begin_us)), xb = std::min(ax.x1, ax.x(z.end_us));
    if (xb - xa < 3.0f) {
      // Everything ending within 6 px of here folds into this block. Ends are sorted, so a binary
      // search finds the block's last zone: a zoomed-out run of millions of zones costs one search
      // per block, not one step per zone (30 ms a frame at DeepSeek-V3's shape otherwise).
      const double fold_end_us = ax.t(xa + 6.0f);
      size_t j = static_cast<size_t>(std::lower_bound(track.begin() + static_cast<std::ptrdiff_t>(i), track.begin() + static_cast<std::ptrdiff_t>(last),
                                                      fold_end_us, [](const PlacedZone& q, double t) { return q.end_us < t; }) -
                                     track.begin());
      if (j == i) j = i + 1;
      const float end = std::min(ax.x1, ax.x(track[j - 1].end_us));
      const ImU32 col = IM_COL32(128, 128, 140, 200);
      dl->AddRectFilled(ImVec2(xa, y0), ImVec2(std::max(end, xa + 1), y1), col);
      if (j - i > 1 && end - xa > 24) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "%zu", j - i);
        dl->AddText(ImVec2(xa + 2, y0 + 1), text_dark, buf);
      }
      if (mouse.x >= xa && mouse.x < end && mouse.y >= y0 && mouse.y < y1) hovered = &z;
      i = j;
      continue;
    }
    ImU32 col;
    char label[48];
    if (kind == 0) {
      col = IM_COL32(96, 110, 130, 255);
      std::snprintf(label, sizeof label, "step %lld", static_cast<long long>(z.step));
    } else if (kind == 1) {
      col = categorical_color(z.layer % 10 + 10);
      std::snprintf(label, sizeof label, "L%d", z.layer);
    } else {
      col = phase_color(z.phase);
      std::snprintf(label, sizeof label, "%s", std::string(phase_name(static_cast<Phase>(z.phase))).c_str());
    }
    dl->AddRectFilled(ImVec2(xa, y0), ImVec2(xb - 1, y1), col, 2.0f);
    const float tw = ImGui::CalcTextSize(label).x;
    if (xb - xa > tw + 6) {
      dl->PushClipRect(ImVec2(xa, y0), ImVec2(xb, y1), true);
      dl->AddText(ImVec2(xa + 3, y0 + (y1 - y0 - ImGui::GetFontSize()) * 0.5f), luminance(col) > 0.5f ? text_dark : IM_COL32_WHITE, label);
      dl->PopClipRect();
    }
    if (mouse.x >= xa && mouse.x < xb && mouse.y >= y0 && mouse.y < y1) hovered = &z;
    ++i;
  }
  return hovered;
}

// A measured range becomes the selection's token range: the tokens of the steps it overlaps.
void link_measured_range(AppState& app, const RunData& run) {
  TimelineState& s = app.timeline;
  const double a = std::min(s.select_begin_us, s.select_end_us), b = std::max(s.select_begin_us, s.select_end_us);
  if (b <= a || run.routing.step_of_token.empty()) return;
  int64_t first = -1, last = -1;
  for (const PlacedZone& z : s.steps) {
    if (z.end_us <= a || z.begin_us >= b) continue;
    if (first < 0) first = z.step;
    last = z.step;
  }
  if (first < 0) return;
  const auto [t0, t1] = tokens_of_steps(run.routing.step_of_token, first, last);
  app.selection.set_range(t0, t1, run.routing.n_tokens);
  s.range_applied = app.selection.range_revision;
}

// A token range chosen in another view: measure the steps that ran those tokens and bring them
// into view.
void show_selected_tokens(AppState& app, const RunData& run) {
  TimelineState& s = app.timeline;
  const Selection& sel = app.selection;
  const auto& steps_of = run.routing.step_of_token;
  if (!sel.has_range() || sel.token_end > static_cast<int32_t>(steps_of.size())) {
    s.select_begin_us = s.select_end_us = -1;
    return;
  }
  const int64_t first = steps_of[static_cast<size_t>(sel.token_begin)], last = steps_of[static_cast<size_t>(sel.token_end - 1)];
  double begin = -1, end = -1;
  for (const PlacedZone& z : s.steps) {
    if (z.step < first || z.step > last) continue;
    if (begin < 0) begin = z.begin_us;
    end = z.end_us;
  }
  if (begin < 0) return;
  s.select_begin_us = begin;
  s.select_end_us = end;
  const double margin = (end - begin) * 0.1;
  s.view_begin_us = begin - margin;
  s.view_end_us = end + margin;
}

// A zoom or pan becomes the selection's token range: the tokens of the steps in view (a view of
// the whole run clears it), as a zoom of the heatmaps does.
void link_view_range(AppState& app, const RunData& run) {
  TimelineState& s = app.timeline;
  const auto [first, last] = steps_in_view(s.steps, s.view_begin_us, s.view_end_us);
  if (first < 0 || run.routing.step_of_token.empty()) return;
  const auto [t0, t1] = tokens_of_steps(run.routing.step_of_token, first, last);
  app.selection.set_range(t0, t1, run.routing.n_tokens);
  s.range_applied = app.selection.range_revision;
}

// Double-click or Fit: the whole run in view, so no token range (as a double-click on a map).
void fit_whole_run(AppState& app) {
  app.timeline.view_begin_us = app.timeline.view_end_us = 0;
  app.selection.clear_range();
  app.timeline.range_applied = app.selection.range_revision;
}

void draw_tracks(AppState& app, const RunData& run, ImVec2 size) {
  TimelineState& s = app.timeline;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float font = ImGui::GetFontSize();
  const float label_w = font * 5.5f, ruler_h = font * 1.6f, track_h = font * 1.5f, gap = 4;
  ImGui::InvisibleButton("##timeline", size, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const bool hovered_area = ImGui::IsItemHovered();
  note_clickable(app, "timeline tracks");
  Axis ax{p.x + label_w, p.x + size.x - 4, s.view_begin_us, s.view_end_us};
  const ImGuiIO& io = ImGui::GetIO();
  // Zoom and pan.
  const bool zoomed = hovered_area && io.MouseWheel != 0;
  const bool panned = ImGui::IsItemDeactivated() && io.MouseReleased[ImGuiMouseButton_Left] && io.MouseDragMaxDistanceSqr[0] >= 9.0f;
  if (zoomed) {
    const double at = ax.t(io.MousePos.x), f = std::pow(0.8, io.MouseWheel);
    s.view_begin_us = at - (at - s.view_begin_us) * f;
    s.view_end_us = at + (s.view_end_us - at) * f;
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f)) {
    const double dt = -io.MouseDelta.x / (ax.x1 - ax.x0) * (s.view_end_us - s.view_begin_us);
    s.view_begin_us += dt;
    s.view_end_us += dt;
  }
  const double span = std::clamp(s.view_end_us - s.view_begin_us, 0.01, s.total_us * 1.05);
  s.view_begin_us = std::clamp(s.view_begin_us, -s.total_us * 0.025, s.total_us * 1.025 - span);
  s.view_end_us = s.view_begin_us + span;
  ax.t0 = s.view_begin_us;
  ax.t1 = s.view_end_us;
  if (zoomed || panned) link_view_range(app, run);
  // Range measurement with the right button.
  if (hovered_area && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) s.select_begin_us = s.select_end_us = ax.t(io.MousePos.x);
  if (ImGui::IsMouseDown(ImGuiMouseButton_Right) && s.select_begin_us >= 0 && ImGui::IsItemActive()) s.select_end_us = ax.t(io.MousePos.x);
  if (ImGui::IsItemDeactivated() && io.MouseReleased[ImGuiMouseButton_Right]) link_measured_range(app, run);
  if (hovered_area && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) fit_whole_run(app);

  // Ruler: nice time steps.
  const double raw = (ax.t1 - ax.t0) / std::max(2.0f, (ax.x1 - ax.x0) / (font * 8));
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double tick = (raw / mag < 2 ? 2 : raw / mag < 5 ? 5 : 10) * mag;
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_TextDisabled), grid = ImGui::GetColorU32(ImGuiCol_Border, 0.5f);
  // The three zone tracks, the transfer track of offloaded runs, then the counter rows.
  const float zones_bottom = p.y + ruler_h + static_cast<float>(3 + transfer_track_count(s)) * (track_h + gap);
  const float tracks_bottom = zones_bottom + counter_tracks_height(run, font);
  dl->PushClipRect(ImVec2(ax.x0, p.y), ImVec2(ax.x1, p.y + size.y), true);
  for (double t = std::ceil(ax.t0 / tick) * tick; t < ax.t1; t += tick) {
    const float x = ax.x(t);
    dl->AddLine(ImVec2(x, p.y + ruler_h - 5), ImVec2(x, tracks_bottom), grid);
    dl->AddText(ImVec2(x + 3, p.y + 1), text, format_us(t).c_str());
  }
  const char* names[] = {"steps", "layers", "phases"};
  const std::vector<PlacedZone>* tracks[] = {&s.steps, &s.layers, &s.phases};
  const PlacedZone* hovered = nullptr;
  int hovered_kind = -1;
  for (int k = 0; k < 3; ++k) {
    const float y0 = p.y + ruler_h + k * (track_h + gap);
    if (const PlacedZone* z = draw_track(dl, *tracks[k], ax, y0, y0 + track_h, k); z && hovered_area) {
      hovered = z;
      hovered_kind = k;
    }
  }
  draw_transfer_track(dl, run, s, TransferAxis{ax.x0, ax.x1, ax.t0, ax.t1}, p.x, p.y + ruler_h + 3 * (track_h + gap),
                      track_h, hovered_area && !hovered);
  // The measured range.
  if (s.select_begin_us >= 0 && s.select_end_us != s.select_begin_us) {
    const float xa = ax.x(std::min(s.select_begin_us, s.select_end_us)), xb = ax.x(std::max(s.select_begin_us, s.select_end_us));
    dl->AddRectFilled(ImVec2(xa, p.y + ruler_h), ImVec2(xb, tracks_bottom), IM_COL32(255, 255, 255, 40));
    dl->AddLine(ImVec2(xa, p.y + ruler_h), ImVec2(xa, tracks_bottom), IM_COL32(255, 220, 120, 255), 1.5f);
    dl->AddLine(ImVec2(xb, p.y + ruler_h), ImVec2(xb, tracks_bottom), IM_COL32(255, 220, 120, 255), 1.5f);
    const std::string d = format_us(std::fabs(s.select_end_us - s.select_begin_us));
    dl->AddText(ImVec2((xa + xb) * 0.5f - ImGui::CalcTextSize(d.c_str()).x * 0.5f, tracks_bottom + 2), IM_COL32(255, 220, 120, 255), d.c_str());
  }
  dl->PopClipRect();
  draw_counter_tracks(app, run, dl, {ax.x0, ax.x1, ax.t0, ax.t1, p.x}, zones_bottom, hovered_area);
  for (int k = 0; k < 3; ++k) {
    const float y0 = p.y + ruler_h + k * (track_h + gap);
    dl->AddText(ImVec2(p.x, y0 + (track_h - font) * 0.5f), ImGui::GetColorU32(ImGuiCol_Text), names[k]);
  }
  if (hovered) {
    ImGui::BeginTooltip();
    if (hovered_kind == 0) {
      ImGui::Text("step %lld", static_cast<long long>(hovered->step));
    } else if (hovered_kind == 1) {
      ImGui::Text("step %lld, layer %d", static_cast<long long>(hovered->step), hovered->layer);
    } else {
      ImGui::Text("%s", std::string(phase_name(static_cast<Phase>(hovered->phase))).c_str());
      ImGui::TextDisabled("step %lld, layer %d", static_cast<long long>(hovered->step), hovered->layer);
    }
    ImGui::Text("%s", format_us(hovered->end_us - hovered->begin_us).c_str());
    ImGui::TextDisabled("starts at %s", format_us(hovered->begin_us).c_str());
    ImGui::TextDisabled("click: traffic matrix of this step and layer");
    ImGui::EndTooltip();
    if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseDragMaxDistanceSqr[0] < 9.0f) {
      s.traffic_step = hovered->step;
      if (hovered->layer >= 0) s.traffic_layer = hovered->layer;
    }
  }
}

//-----------------------------------------------------------------------------
// [SECTION] statistics
//-----------------------------------------------------------------------------

void draw_stats(AppState& app) {
  TimelineState& s = app.timeline;
  double begin = 0, end = s.total_us;
  const bool ranged = s.select_begin_us >= 0 && s.select_end_us != s.select_begin_us;
  if (ranged) begin = std::min(s.select_begin_us, s.select_end_us), end = std::max(s.select_begin_us, s.select_end_us);
  if (s.stats_key != s.key || s.stats_begin_us != begin || s.stats_end_us != end) {
    const auto stats = phase_stats(s, begin, end);
    s.stats_total_us.assign(stats.size(), 0);
    s.stats_max_us.assign(stats.size(), 0);
    s.stats_count.assign(stats.size(), 0);
    for (size_t i = 0; i < stats.size(); ++i) {
      s.stats_total_us[i] = stats[i].total_us;
      s.stats_max_us[i] = stats[i].max_us;
      s.stats_count[i] = stats[i].count;
    }
    s.stats_key = s.key, s.stats_begin_us = begin, s.stats_end_us = end;
  }
  ImGui::Text("Phases %s", ranged ? "in the measured range" : "over the run");
  ImGui::SameLine();
  ImGui::TextDisabled("(%s; right-drag on the tracks to measure)", format_us(end - begin).c_str());
  double all = 0;
  for (double v : s.stats_total_us) all += v;
  if (!ImGui::BeginTable("##phases", 6, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) return;
  for (const char* h : {"phase", "zones", "total", "mean", "max", "share"}) ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (int ph = 0; ph < kPhaseCount; ++ph) {
    if (s.stats_count[ph] == 0) continue;
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    const ImVec2 q = ImGui::GetCursorScreenPos();
    const float sw = ImGui::GetTextLineHeight() * 0.7f;
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(q.x, q.y + sw * 0.25f), ImVec2(q.x + sw, q.y + sw * 1.25f), phase_color(ph), 2);
    ImGui::Dummy(ImVec2(sw, sw));
    ImGui::SameLine();
    ImGui::TextUnformatted(std::string(phase_name(static_cast<Phase>(ph))).c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%lld", static_cast<long long>(s.stats_count[ph]));
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(format_us(s.stats_total_us[ph]).c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(format_us(s.stats_total_us[ph] / static_cast<double>(s.stats_count[ph])).c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(format_us(s.stats_max_us[ph]).c_str());
    ImGui::TableNextColumn();
    const float share = all > 0 ? static_cast<float>(s.stats_total_us[ph] / all) : 0.0f;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
    ImGui::ProgressBar(share, ImVec2(-1, ImGui::GetTextLineHeight()), buf);
  }
  ImGui::EndTable();
}

//-----------------------------------------------------------------------------
// [SECTION] find zone
//-----------------------------------------------------------------------------

// Durations of the matching zones, log-scaled bins from the shortest to the longest.
void draw_zone_histogram(const ZoneSearch& f, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  const float font = ImGui::GetFontSize();
  const float x0 = p.x + font * 3, x1 = p.x + size.x - 4, y0 = p.y + 2, y1 = p.y + size.y - font * 1.4f;
  if (f.histogram.empty() || x1 <= x0 || y1 <= y0) return;
  const int64_t top = std::max<int64_t>(1, *std::max_element(f.histogram.begin(), f.histogram.end()));
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const float bw = (x1 - x0) / static_cast<float>(f.histogram.size());
  const ImVec2 m = ImGui::GetIO().MousePos;
  int hovered = -1;
  for (size_t b = 0; b < f.histogram.size(); ++b) {
    const float xa = x0 + bw * static_cast<float>(b);
    const float h = static_cast<float>(f.histogram[b]) / static_cast<float>(top) * (y1 - y0);
    dl->AddRectFilled(ImVec2(xa, y1 - h), ImVec2(xa + std::max(1.0f, bw - 1), y1), categorical_color(0));
    if (m.x >= xa && m.x < xa + bw && m.y >= y0 && m.y < y1 && ImGui::IsWindowHovered()) hovered = static_cast<int>(b);
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(top));
  dl->AddText(ImVec2(x0 - ImGui::CalcTextSize(buf).x - 4, y0), axis, buf);
  dl->AddLine(ImVec2(x0, y1), ImVec2(x1, y1), axis);
  const std::string lo = format_us(f.bin_edges_us.front()), hi = format_us(f.bin_edges_us.back());
  dl->AddText(ImVec2(x0, y1 + 2), axis, lo.c_str());
  dl->AddText(ImVec2(x1 - ImGui::CalcTextSize(hi.c_str()).x, y1 + 2), axis, hi.c_str());
  const char* label = "duration (log scale)";
  dl->AddText(ImVec2((x0 + x1 - ImGui::CalcTextSize(label).x) * 0.5f, y1 + 2), ImGui::GetColorU32(ImGuiCol_Text), label);
  if (hovered >= 0) {
    const auto b = static_cast<size_t>(hovered);
    ImGui::SetTooltip("%s to %s: %lld zones", format_us(f.bin_edges_us[b]).c_str(), format_us(f.bin_edges_us[b + 1]).c_str(),
                      static_cast<long long>(f.histogram[b]));
  }
}

// Tracy's Find Zone over the phase track: matches, their statistics and duration histogram, and
// a jump to the longest.
void draw_find_zone(AppState& app) {
  TimelineState& s = app.timeline;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 20);
  ImGui::InputTextWithHint("##findzone", "phase [layer N] [step N], e.g. expert layer 3", &s.find_query);
  note_clickable(app, "find zone");
  if (s.find_key != s.key || s.find_searched != s.find_query) {
    s.find = search_zones(s.phases, parse_zone_query(s.find_query));
    s.find_key = s.key;
    s.find_searched = s.find_query;
  }
  const ZoneSearch& f = s.find;
  if (f.matches.empty()) {
    ImGui::TextDisabled("no phase zone matches");
    return;
  }
  ImGui::Text("%zu zones, total %s", f.matches.size(), format_us(f.total_us).c_str());
  ImGui::TextDisabled("mean %s  median %s  min %s  max %s", format_us(f.mean_us).c_str(), format_us(f.median_us).c_str(),
                      format_us(f.min_us).c_str(), format_us(f.max_us).c_str());
  ImGui::SameLine();
  if (ImGui::SmallButton("Show the longest")) {
    const PlacedZone& z = s.phases[f.longest];
    const double margin = (z.end_us - z.begin_us) * 2;
    s.view_begin_us = z.begin_us - margin;
    s.view_end_us = z.end_us + margin;
    s.select_begin_us = z.begin_us;
    s.select_end_us = z.end_us;
    s.traffic_step = z.step;
  }
  draw_zone_histogram(f, ImGui::GetContentRegionAvail());
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_timeline_view(AppState& app) {
  auto run = app.selected_run();
  if (run && run->timings.empty() && run->lacks("timings")) {
    draw_lacking_hint(app, *run, "timings", "the timeline");
    return;
  }
  if (!run || run->timings.empty()) {
    draw_empty_hint(app.doc ? "This run has no phase timings" : "Open a session (File > Open session) or start a run");
    return;
  }
  TimelineState& s = app.timeline;
  const uint64_t key = run_data_key(*run);
  if (s.key != key) {
    prepare_tracks(*run, s);
    prepare_transfer_track(*run, s);
    s.key = key;
    s.traffic_step = -1;
  }
  if (s.view_end_us <= s.view_begin_us) {
    s.view_begin_us = 0;
    s.view_end_us = s.total_us > 0 ? s.total_us : 1;
  }
  if (s.range_applied != app.selection.range_revision) {
    show_selected_tokens(app, *run);
    s.range_applied = app.selection.range_revision;
  }
  if (s.select_begin_us == -2) {
    // Tour: measure the second step, the first decode step after the prefill.
    const PlacedZone& z = s.steps[std::min<size_t>(1, s.steps.size() - 1)];
    s.select_begin_us = z.begin_us;
    s.select_end_us = z.end_us;
    s.view_begin_us = 0;
    s.view_end_us = std::min(s.total_us, s.steps[std::min<size_t>(3, s.steps.size() - 1)].end_us);
  }
  ImGui::Text("%zu steps, %s", s.steps.size(), format_us(s.total_us).c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("wheel: zoom  drag: pan  right-drag: measure  double-click: fit  click a zone: its traffic");
  ImGui::SameLine();
  if (ImGui::SmallButton("Fit")) fit_whole_run(app);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float font = ImGui::GetFontSize();
  const float tracks_h = font * 1.6f + static_cast<float>(3 + transfer_track_count(s)) * (font * 1.5f + 4) +
                        counter_tracks_height(*run, font) + font * 1.5f;
  ImGui::BeginChild("##tracks", ImVec2(0, tracks_h + ImGui::GetStyle().WindowPadding.y * 2), true);
  draw_tracks(app, *run, ImGui::GetContentRegionAvail());
  ImGui::EndChild();
  const float bottom_h = avail.y - tracks_h - ImGui::GetStyle().WindowPadding.y * 2 - ImGui::GetStyle().ItemSpacing.y;
  ImGui::BeginChild("##stats", ImVec2(avail.x * 0.58f, bottom_h), true);
  if (ImGui::BeginTabBar("##bottomtabs")) {
    if (ImGui::BeginTabItem("Phases")) {
      draw_stats(app);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Find zone")) {
      draw_find_zone(app);
      ImGui::EndTabItem();
    }
    note_clickable(app, "tab:find zone");
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##traffic", ImVec2(0, bottom_h), true);
  draw_ep_traffic_matrix(app, *run, ImGui::GetContentRegionAvail());
  ImGui::EndChild();
}

}  // namespace moescope::ui
