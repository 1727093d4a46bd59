#include "ui/tour.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "ui/assets.h"

namespace moescope::ui {
namespace {

// A selection that shows each view at its most telling: a pinned token, a measured range.
void stage(AppState& app, ViewId view) {
  app.view = view;
  auto run = app.selected_run();
  if (!run) return;
  const int32_t n_tokens = run->routing.n_tokens;
  if (view == ViewId::tokens) {
    app.selection.pinned_token = std::min(n_tokens - 1, 12);
    app.layer = 0;
  }
  if (view == ViewId::lab) {
    // Capacity at C = 1 drops assignments: a policy that differs from the recorded routing.
    app.lab.options.kind = routing_policies::PolicyKind::capacity;
    app.lab.options.capacity_factor = 1.0;
  }
  if (view == ViewId::timeline && !run->timings.empty()) {
    app.timeline = TimelineState{};  // fit all; the view picks a measured range below
    app.timeline.select_begin_us = -2;  // ask the view to select its second step
    // The expert-tokens row counts the highlighted expert: the top-1 of the token the tour pinned.
    const auto& r = run->routing;
    if (app.selection.expert < 0 && r.n_layers > 0 && n_tokens > 0) {
      app.selection.expert = r.topk_ids[r.topk_offset(std::clamp(app.layer, 0, r.n_layers - 1), std::min(n_tokens - 1, 12))];
    }
  }
}

constexpr int kMinTimedFrames = 5;

struct ViewTimes {
  std::string view;
  std::vector<std::string> lacks;  // fields the view said the run's import lacks
  double first_ms = 0;  // the first frame also builds caches and uploads textures
  std::vector<double> ms;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int run_tour(GLFWwindow*, AppState& app, const std::string& dir, int bench_frames,
             const std::function<double(const std::string&)>& draw_frame) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ResourceError("cannot create tour folder " + dir + ": " + ec.message());
  std::vector<ViewTimes> times;
  for (ViewId view : kAllViews) {
    stage(app, view);
    ViewTimes t;
    t.view = std::string(view_name(view));
    t.first_ms = draw_frame("");
    // Views whose numbers are computed in the background are captured with them.
    const auto waited_since = std::chrono::steady_clock::now();
    while (app.background_busy() && std::chrono::steady_clock::now() - waited_since < std::chrono::seconds(300)) draw_frame("");
    for (int i = 0; i < 3; ++i) draw_frame("");  // ImGui settles sizes over a couple of frames
    // tour.json reports a median frame time for every view, so a few frames are timed even
    // without --bench-frames.
    for (int i = 0; i < std::max(bench_frames, kMinTimedFrames); ++i) t.ms.push_back(draw_frame(""));
    draw_frame((std::filesystem::path(dir) / (t.view + ".png")).string());
    t.lacks = app.view_lacks;
    if (!app.error_message.empty()) {
      throw InputError("tour: view " + t.view + " failed: " + app.error_message);
    }
    times.push_back(std::move(t));
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : times) {
    const double mean = t.ms.empty() ? 0 : std::accumulate(t.ms.begin(), t.ms.end(), 0.0) / static_cast<double>(t.ms.size());
    out.push_back({{"view", t.view}, {"first_frame_ms", t.first_ms}, {"median_ms", median(t.ms)},
                   {"max_ms", t.ms.empty() ? 0 : *std::max_element(t.ms.begin(), t.ms.end())},
                   {"mean_ms", mean}, {"frames", t.ms.size()}});
  }
  std::ofstream(std::filesystem::path(dir) / "frame_times.json") << out.dump(2) << '\n';

  // The summary checks read: each view's screenshot and median frame-build time, and what the
  // app found and showed (the bundled demo model, the open session file).
  nlohmann::json views = nlohmann::json::array();
  for (const auto& t : times) {
    views.push_back({{"name", t.view}, {"png", t.view + ".png"}, {"frame_ms", median(t.ms)}, {"lacks", t.lacks}});
  }
  const auto models = demo_models();
  const bool file_backed = app.doc && std::filesystem::is_regular_file(app.doc->label(), ec);
  const nlohmann::json summary = {{"views", views},
                                  {"demo_model", models.empty() ? nlohmann::json() : nlohmann::json(models.front().string())},
                                  {"session", file_backed ? nlohmann::json(app.doc->label()) : nlohmann::json()}};
  std::ofstream(std::filesystem::path(dir) / "tour.json") << summary.dump(2) << '\n';
  return 0;
}

}  // namespace moescope::ui
