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
#include "core/analysis/divergence.h"
#include "ui/expert_order.h"
#include "ui/heatmap_widget.h"
#include "ui/model_card.h"
#include "ui/run_list.h"
#include "ui/routing_views.h"
#include "ui/selection.h"
#include "ui/session_data.h"
#include "ui/settings.h"
#include "ui/timeline_counters.h"
#include "ui/token_layout.h"
#include "ui/whatif_state.h"
#include "ui/zone_search.h"

struct ImFont;

namespace moescope::ui {

class RunController;

enum class ViewId : uint8_t { start, run, tokens, heatmaps, compare, balance, timeline, lab, offload, placement };
inline constexpr std::array<ViewId, 10> kAllViews = {ViewId::start,    ViewId::run,     ViewId::tokens,   ViewId::heatmaps,
                                                     ViewId::compare,  ViewId::balance, ViewId::timeline, ViewId::lab,
                                                     ViewId::offload,  ViewId::placement};
std::string_view view_name(ViewId view);   // "start", "run", ... (also the tour's PNG names)
std::string_view view_title(ViewId view);  // "Start", "Run", "Tokens", ...

struct Fonts {
  ImFont* ui = nullptr;
  ImFont* mono = nullptr;  // token text; carries the CJK glyphs
  ImFont* heading = nullptr;
};

// Derived arrays of one run, rebuilt when the run's revision changes.
struct RunCache {
  uint64_t key = 0;  // run_data_key of the run it was derived from
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
  std::vector<double> counts_a, counts_b;  // (n_layers, n_experts) assignments of each group
  int32_t min_support = 20;  // assignments (both groups) before an expert is listed as specific
  // Permutation test of the mean JSD over layers (by tag, at least 2 runs a side).
  bool has_test = false;
  analysis::PermutationTest test;
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
  uint64_t key = 0;  // run_data_key of the run the tracks were prepared for
  std::vector<PlacedZone> steps, layers, phases;  // three tracks, each sorted and non-overlapping
  // Offloaded runs: expert copies and stalls, the transfer track (ui/timeline_transfer_track.h).
  std::vector<PlacedZone> copies, stalls;
  double total_us = 0;
  double view_begin_us = 0, view_end_us = 0;  // visible range; equal = fit all
  double select_begin_us = -1, select_end_us = -1;  // -2: select the second step (tour)
  double stats_begin_us = -1, stats_end_us = -1;  // range `stats` was computed for
  uint64_t stats_key = 0;
  std::vector<double> stats_total_us, stats_max_us;  // (kPhaseCount)
  std::vector<int64_t> stats_count;                  // (kPhaseCount)
  int64_t traffic_step = -1;  // -1: the first step with traffic
  int32_t traffic_layer = 0;
  uint64_t range_applied = 0;  // Selection::range_revision last shown as the measured range
  // Find zone: the query typed, and the search last run (for `find_searched` on tracks `key`).
  std::string find_query, find_searched;
  uint64_t find_key = 0;
  ZoneSearch find;
  TimelineCounters counters;  // the counter and modelled all-to-all tracks (ui/timeline_counters.h)
};

// The heatmaps view's choices and the grids its textures are rendered from (rebuilt when the
// run, layer or expert order changes; the textures are re-rendered from them on zoom and pan).
struct HeatmapsState {
  Pooling pooling = Pooling::max;
  ExpertOrder order = ExpertOrder::id;
  int32_t palette_top = 12;  // experts with their own colour in the top-1 map; the rest are "other"
  uint64_t grids_key = 0;
  std::vector<int32_t> expert_rows;  // (n_experts) expert_order at the layer: expert shown at each row
  std::vector<float> scores;         // (n_experts, n_tokens) router scores at the layer, by expert id
  float scores_max = 1.0f;
  std::vector<float> coactivation;   // (n_experts, n_experts) P(j | i), NaN diagonal
  ExpertPalette palette;             // top-1 colours, from the run's top-1 counts over all layers
  uint64_t range_applied = ~0ull;    // Selection::range_revision the token axes were last set to
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
  Selection selection;  // token range, pinned token, highlighted expert: shared by every view
  std::string run_filter;  // the sidebar's filter over the run list
  bool focus_run_filter = false;  // Ctrl+F: put the keyboard in the filter next frame
  RunListFilter run_list;         // the runs passing run_filter, kept between frames
  float capacity_factor = 1.25f;
  bool mark_dropped = true;  // token view: outline tokens whose assignment overflows capacity

  std::map<int64_t, RunCache> caches;  // by run id
  HeatmapSlot heat_scores, heat_load, heat_top1, heat_coact, heat_diff;
  HeatmapsState heatmaps;
  TimelineState timeline;
  CompareState compare;
  TokenLayout token_layout;
  uint64_t token_range_applied = 0;  // Selection::range_revision the token view last scrolled to
  RoutingLabState lab;
  OffloadState offload;
  PlacementState placement;
  int token_colour_mode = 0;  // 0: top-1 expert, 1: top-1 weight (router confidence)
  std::unique_ptr<RunController> runner;

  int unsaved_runs = 0;  // live runs finished in this window and recorded nowhere
  // A session asked for while unsaved runs are shown, opened on `pending_view` once the user
  // agrees to let them go (the shell asks).
  std::unique_ptr<SessionSource> pending_source;
  ViewId pending_view = ViewId::tokens;
  bool pending_demo = false;  // the pending session is the demo's: compare code vs verse

  std::string live_outcome;           // how the last live run ended: complete, cancelled, failed: ...
  double live_cancel_latency_s = -1;  // of the last cancelled live run

  // Fields of the selected run that this frame's view needed and an imported run lacks (it said
  // so in place of drawing them); the tour lists them per view.
  std::vector<std::string> view_lacks;

  std::string error_message;  // shown in a modal; one clear line
  std::string status_line;
  bool export_requested = false;  // open the export dialog
  int export_format = 0;          // sessions::ExportFormat
  std::string export_path;
  bool want_screenshot = false;  // export PNG of the current view
  std::string screenshot_path;
  int screenshot_scale = 1;       // times the window's pixels (File > Export > PNG at 2x)
  std::string pending_png;        // chosen in the save dialog; taken next frame, once it has closed
  bool tour_mode = false;  // the tour drives selections; nothing is saved
  // A --script is playing: items the script may click record where they are each frame.
  bool scripted_input = false;
  std::map<std::string, std::array<float, 4>> clickables;  // label -> (x0, y0, x1, y1)

  AppState();
  ~AppState();
  // The selected run loaded, or null.
  std::shared_ptr<RunData> selected_run();
  // Whether a view's background work (a replay, a cache sweep, an apply) is under way: the tour
  // waits for it before it times and captures a view.
  bool background_busy();
  // Derived arrays of `run`, rebuilt when its revision or the capacity factor changed.
  RunCache& cache_for(const RunData& run);
  void open_session(std::unique_ptr<SessionSource> source);
  // What the user's File > Open, a recent entry or the demo call: opens `source` on `view`, or
  // keeps it in pending_source when that would drop unsaved live runs.
  void request_open(std::unique_ptr<SessionSource> source, ViewId view);
};

}  // namespace moescope::ui
