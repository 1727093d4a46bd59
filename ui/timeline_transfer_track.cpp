#include "ui/timeline_transfer_track.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "ui/timeline_tracks.h"

namespace moescope::ui {
namespace {

constexpr ImU32 kCopyColor = IM_COL32(64, 156, 236, 255);
constexpr ImU32 kStallColor = IM_COL32(226, 74, 60, 255);

void keep_apart(std::vector<PlacedZone>& zones) {
  std::sort(zones.begin(), zones.end(), [](const PlacedZone& a, const PlacedZone& b) { return a.begin_us < b.begin_us; });
  std::vector<PlacedZone> kept;
  kept.reserve(zones.size());
  for (PlacedZone z : zones) {
    if (!kept.empty()) z.begin_us = std::max(z.begin_us, kept.back().end_us);
    if (z.end_us > z.begin_us) kept.push_back(z);
  }
  zones = std::move(kept);
}

// The zones of one half; returns the one under the mouse, or null.
const PlacedZone* draw_half(ImDrawList* dl, const std::vector<PlacedZone>& zones, const TransferAxis& ax, float y0,
                            float y1, ImU32 color) {
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const PlacedZone* hovered = nullptr;
  const auto [first, last] = visible_range(zones, ax.t0, ax.t1);
  const auto x_of = [&](double t) { return ax.x0 + static_cast<float>((t - ax.t0) / (ax.t1 - ax.t0)) * (ax.x1 - ax.x0); };
  float block_begin = 0, block_end = -1;  // zones closer than a pixel are drawn as one block
  for (size_t i = first; i < last; ++i) {
    const PlacedZone& z = zones[i];
    const float xa = std::max(ax.x0, x_of(z.begin_us));
    const float xb = std::max(xa + 1.0f, std::min(ax.x1, x_of(z.end_us)));
    if (mouse.x >= xa && mouse.x < xb && mouse.y >= y0 && mouse.y < y1) hovered = &z;
    if (xa <= block_end + 1.0f) {
      block_end = std::max(block_end, xb);
      continue;
    }
    if (block_end > block_begin) dl->AddRectFilled(ImVec2(block_begin, y0), ImVec2(block_end, y1), color);
    block_begin = xa;
    block_end = xb;
  }
  if (block_end > block_begin) dl->AddRectFilled(ImVec2(block_begin, y0), ImVec2(block_end, y1), color);
  return hovered;
}

void transfer_tooltip(const RunData& run, const PlacedZone& z, bool stall) {
  const auto it = std::lower_bound(run.offload.begin(), run.offload.end(), std::pair{z.step, z.layer},
                                   [](const OffloadEvent& e, const std::pair<int64_t, int32_t>& key) {
                                     return std::pair{e.step, e.layer} < key;
                                   });
  ImGui::BeginTooltip();
  ImGui::Text("%s, step %lld, layer %d", stall ? "stall on expert copies" : "expert copies", static_cast<long long>(z.step),
              z.layer);
  if (it != run.offload.end() && it->step == z.step && it->layer == z.layer) {
    ImGui::Text("%d of %d experts cached, %d copied (%.1f MB)", it->hits, it->lookups, it->lookups - it->hits,
                static_cast<double>(it->bytes_copied) / 1e6);
    if (it->prefetched > 0) ImGui::Text("%d copied ahead by the prefetch, %d of them used", it->prefetched, it->prefetch_hits);
    ImGui::Text("copy %.1f us, stall %.1f us", it->copy_us, it->stall_us);
  }
  ImGui::EndTooltip();
}

}  // namespace

void prepare_transfer_track(const RunData& run, TimelineState& s) {
  s.copies.clear();
  s.stalls.clear();
  for (const OffloadEvent& e : run.offload) {
    const auto step = std::lower_bound(s.steps.begin(), s.steps.end(), e.step,
                                       [](const PlacedZone& z, int64_t wanted) { return z.step < wanted; });
    if (step == s.steps.end() || step->step != e.step) continue;  // a step without phase timings has no place
    if (e.copy_us > 0)
      s.copies.push_back({step->begin_us + e.copy_start_us, step->begin_us + e.copy_start_us + e.copy_us, e.step, e.layer, -1});
    if (e.stall_us > 0)
      s.stalls.push_back(
          {step->begin_us + e.stall_start_us, step->begin_us + e.stall_start_us + e.stall_us, e.step, e.layer, -1});
  }
  keep_apart(s.copies);
  keep_apart(s.stalls);
}

int transfer_track_count(const TimelineState& s) { return s.copies.empty() && s.stalls.empty() ? 0 : 1; }

void draw_transfer_track(ImDrawList* dl, const RunData& run, const TimelineState& s, const TransferAxis& ax, float label_x,
                         float y0, float height, bool hover) {
  if (transfer_track_count(s) == 0) return;
  const float mid = y0 + height * 0.5f;
  dl->AddRectFilled(ImVec2(ax.x0, y0), ImVec2(ax.x1, y0 + height), ImGui::GetColorU32(ImGuiCol_FrameBg));
  const PlacedZone* copy = draw_half(dl, s.copies, ax, y0, mid - 1, kCopyColor);
  const PlacedZone* stall = draw_half(dl, s.stalls, ax, mid, y0 + height, kStallColor);
  // The label sits left of the axis, outside the tracks' clip rectangle.
  dl->PushClipRect(ImVec2(label_x, y0), ImVec2(ax.x0, y0 + height), false);
  dl->AddText(ImVec2(label_x, y0 + (height - ImGui::GetFontSize()) * 0.5f), ImGui::GetColorU32(ImGuiCol_Text), "transfers");
  dl->PopClipRect();
  if (!hover) return;
  if (copy) transfer_tooltip(run, *copy, false);
  else if (stall) transfer_tooltip(run, *stall, true);
}

}  // namespace moescope::ui
