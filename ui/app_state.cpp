#include "ui/app_state.h"

#include <algorithm>

#include "ui/run_controller.h"

namespace moescope::ui {

std::string_view view_name(ViewId view) {
  switch (view) {
    case ViewId::start: return "start";
    case ViewId::run: return "run";
    case ViewId::tokens: return "tokens";
    case ViewId::heatmaps: return "heatmaps";
    case ViewId::compare: return "compare";
    case ViewId::balance: return "balance";
    case ViewId::timeline: return "timeline";
    case ViewId::lab: return "lab";
    case ViewId::offload: return "offload";
    case ViewId::placement: return "placement";
  }
  return "start";
}

std::string_view view_title(ViewId view) {
  switch (view) {
    case ViewId::start: return "Start";
    case ViewId::run: return "Run";
    case ViewId::tokens: return "Tokens";
    case ViewId::heatmaps: return "Heatmaps";
    case ViewId::compare: return "Compare";
    case ViewId::balance: return "Load balance";
    case ViewId::timeline: return "Timeline";
    case ViewId::lab: return "Routing lab";
    case ViewId::offload: return "Offload";
    case ViewId::placement: return "Placement";
  }
  return "Start";
}

AppState::AppState() : runner(std::make_unique<RunController>()) {}
AppState::~AppState() = default;

bool AppState::background_busy() { return lab.replay.running() || lab.apply.running() || offload.job.running(); }

std::shared_ptr<RunData> AppState::selected_run() {
  if (!doc || run_id == 0) return nullptr;
  return doc->run(run_id);
}

RunCache& AppState::cache_for(const RunData& run) {
  RunCache& c = caches[run.summary.id];
  if (c.key != run_data_key(run)) {
    c = RunCache{};
    c.key = run_data_key(run);
    c.summary = summarize_routing(run.routing);
    c.balance = layer_balance(run.routing, c.summary);
  }
  if (c.overflow.capacity_factor != capacity_factor || c.overflow.n_layers != run.routing.n_layers) {
    c.overflow = analysis::simulate_capacity(run.routing, capacity_factor);
  }
  const int32_t l = std::min(layer, run.routing.n_layers - 1);
  if (l >= 0 && c.coactivation_layer != l) {
    c.coactivation = analysis::co_activation(run.routing, l);
    c.coactivation_layer = l;
  }
  return c;
}

void AppState::open_session(std::unique_ptr<SessionSource> source) {
  doc = std::make_unique<SessionDoc>(std::move(source));
  caches.clear();
  run_id = doc->runs().empty() ? 0 : doc->runs().front().id;
  compare_run_id = 0;
  layer = 0;
  selection.reset_tokens();
  selection.expert = -1;
  unsaved_runs = 0;
  pending_source.reset();
  pending_demo = false;
  compare = CompareState{};
}

void AppState::request_open(std::unique_ptr<SessionSource> source, ViewId next_view) {
  if (unsaved_runs > 0 && doc) {
    pending_source = std::move(source);
    pending_view = next_view;
    pending_demo = false;
    return;
  }
  open_session(std::move(source));
  view = next_view;
}

}  // namespace moescope::ui
