// Everything the views share: the open session, what is selected, settings, caches of derived
// arrays and the GL textures of the heatmaps. One instance, owned by the main loop.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/capacity.h"
#include "core/analysis/co_activation.h"
#include "ui/heatmap_widget.h"
#include "ui/model_card.h"
#include "ui/routing_views.h"
#include "ui/session_data.h"
#include "ui/settings.h"
#include "ui/token_layout.h"

struct ImFont;

namespace moescope::ui {

class RunController;

enum class ViewId : uint8_t { start, run, tokens, heatmaps, compare, balance, timeline };
inline constexpr std::array<ViewId, 7> kAllViews = {ViewId::start,   ViewId::run,     ViewId::tokens,  ViewId::heatmaps,
                                                    ViewId::compare, ViewId::balance, ViewId::timeline};
std::string_view view_name(ViewId view);   // "start", "run", ... (also the tour's PNG names)
std::string_view view_title(ViewId view);  // "Start", "Run", "Tokens", ...

struct Fonts {
  ImFont* ui = nullptr;
  ImFont* mono = nullptr;  // token text; carries the CJK glyphs
  ImFont* heading = nullptr;
};

// Derived arrays of one run, rebuilt when the run's revision changes.
struct RunCache {
  const RunData* run = nullptr;
  uint64_t revision = 0;
  RoutingSummary summary;
  std::vector<LayerBalance> balance;
  analysis::CapacityOverflow overflow;  // at AppState::capacity_factor
  int32_t coactivation_layer = -1;
  analysis::CoActivation coactivation;  // at coactivation_layer
};

// Two groups of runs (two tags, or two runs) and their per-layer load distributions.
struct CompareState {
  int mode = 0;  // 0: by tag, 1: two runs
  std::string tag_a, tag_b;
  int64_t run_a = 0, run_b = 0;
  std::string key;  // what the arrays below were computed for
  std::string label_a, label_b;
  int32_t n_layers = 0, n_experts = 0;
  std::vector<int32_t> layer_ids;  // (n_layers)
  std::vector<double> share_a, share_b;  // (n_layers, n_experts) load share of each group
  std::vector<float> diff;               // (n_layers, n_experts) share_a - share_b
  std::vector<double> js;                // (n_layers) Jensen-Shannon divergence, bits
  int64_t tokens_a = 0, tokens_b = 0;
  std::string error;
};

// A zone placed on the run's absolute time axis (steps laid end to end).
struct PlacedZone {
  double begin_us = 0, end_us = 0;
  int64_t step = 0;
  int32_t layer = -1;
  int32_t phase = -1;  // Phase as int; -1 for step and layer spans
};

struct TimelineState {
  uint64_t key = 0;  // run revision the tracks were prepared for
  std::vector<PlacedZone> steps, layers, phases;  // three tracks, each sorted and non-overlapping
  double total_us = 0;
  double view_begin_us = 0, view_end_us = 0;  // visible range; equal = fit all
  double select_begin_us = -1, select_end_us = -1;  // -2: select the second step (tour)
  double stats_begin_us = -1, stats_end_us = -1;  // range `stats` was computed for
  uint64_t stats_key = 0;
  std::vector<double> stats_total_us, stats_max_us;  // (kPhaseCount)
  std::vector<int64_t> stats_count;                  // (kPhaseCount)
  int64_t traffic_step = -1;  // -1: the first step with traffic
  int32_t traffic_layer = 0;
};

// The run panel's form.
struct RunForm {
  std::string prompt = "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n";
  int tag = 0;  // index into kRunTags; the last entry is custom
  std::string custom_tag;
  int prompt_set = -1;  // index into prompt_sets(); -1: the prompt above
  int max_new_tokens = 32;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int seed = 0;
  std::string capacity_factors = "1.0, 1.25, 1.5, 2.0";
  bool enforce_capacity = false;
  float enforce_factor = 1.25f;
  int ep_degree = 1;
  int backend = 0;       // 0 CPU, 1 CUDA
  int interconnect = 0;  // index into kInterconnects
};
// The tags of the bundled prompt sets (assets/prompts/), then a free label.
inline constexpr const char* kRunTags[] = {"code", "verse", "maths", "prose", "multilingual", "custom"};
inline constexpr const char* kInterconnects[] = {"nvlink4", "pcie5", "ib400"};

struct AppState {
  Settings settings;
  Fonts fonts;
  float ui_scale = 1.0f;
  std::unique_ptr<SessionDoc> doc;
  std::string model_dir;  // checkpoint folder chosen on the start page
  std::string model_dir_field;  // the start page's path field
  std::string card_dir;         // the checkpoint `card` describes
  std::string card_error;
  CheckpointCard card;
  RunForm run_form;
  std::string demo_session;  // where the demo comparison records, opened when it finishes
  ViewId view = ViewId::start;

  int64_t run_id = 0;          // selected run (0: none)
  int64_t compare_run_id = 0;  // second run in the compare view (0: compare by tags)
  int32_t layer = 0;           // index into the run's MoE layers
  int32_t pinned_token = -1;
  float capacity_factor = 1.25f;
  bool mark_dropped = true;  // token view: outline tokens whose assignment overflows capacity

  std::map<int64_t, RunCache> caches;  // by run id
  HeatmapSlot heat_scores, heat_load, heat_top1, heat_coact, heat_diff;
  float heat_scores_max = 1.0f;  // colour-scale top of heat_scores, found when it was built
  TimelineState timeline;
  CompareState compare;
  TokenLayout token_layout;
  int token_colour_mode = 0;  // 0: top-1 expert, 1: top-1 weight (router confidence)
  std::unique_ptr<RunController> runner;

  std::string live_outcome;           // how the last live run ended: complete, cancelled, failed: ...
  double live_cancel_latency_s = -1;  // of the last cancelled live run

  std::string error_message;  // shown in a modal; one clear line
  std::string status_line;
  bool export_requested = false;  // open the export dialog
  int export_format = 0;          // sessions::ExportFormat
  std::string export_path;
  bool want_screenshot = false;  // export PNG of the current view
  std::string screenshot_path;
  bool tour_mode = false;  // the tour drives selections; nothing is saved

  AppState();
  ~AppState();
  // The selected run loaded, or null.
  std::shared_ptr<RunData> selected_run();
  // Derived arrays of `run`, rebuilt when its revision or the capacity factor changed.
  RunCache& cache_for(const RunData& run);
  void open_session(std::unique_ptr<SessionSource> source);
};

}  // namespace moescope::ui
