#include "ui/run_controller.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <random>

#include "core/engine_factory.h"
#include "core/error.h"
#include "core/model.h"
#include "core/tokenizer.h"
#include "sessions/recorder.h"

namespace moescope::ui {
namespace {

using Clock = std::chrono::steady_clock;

struct Cancelled {};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

// Streaming state: per-layer routing chunks (appended in token order) so a step's data is one
// append; the dense RoutingArrays are assembled only when the UI asks for a copy.
struct RunController::Live {
  mutable std::mutex mutex;
  std::condition_variable finished_cv;
  RunProgress progress;
  Clock::time_point started{};
  Clock::time_point cancel_requested{};
  bool cancel_seen = false;
  uint64_t revision = 0;
  uint64_t taken_revision = 0;
  std::optional<RunOutcome> outcome;

  RunSummary summary;
  int32_t n_experts = 0, top_k = 0;
  std::vector<int32_t> layer_ids;             // (n_layers) in first-seen order
  std::vector<std::vector<int32_t>> topk_ids;  // per layer: (n_tokens, top_k)
  std::vector<std::vector<float>> topk_weights;
  std::vector<std::vector<float>> scores;     // per layer: (n_tokens, n_experts)
  std::vector<int64_t> step_of_token;
  std::vector<int32_t> token_ids;
  std::vector<std::string> token_text;
  std::vector<uint8_t> generated;
  std::vector<TimingZone> timings;
  std::vector<TrafficMatrix> traffic;
  double enforce_capacity_factor = 0;      // the request's; 0: dropless
  std::vector<int32_t> dropped_per_token;  // (tokens so far) assignments enforcement dropped

  void reset_routing() {
    layer_ids.clear();
    topk_ids.clear();
    topk_weights.clear();
    scores.clear();
    step_of_token.clear();
    token_ids.clear();
    token_text.clear();
    generated.clear();
    timings.clear();
    traffic.clear();
    dropped_per_token.clear();
    ++revision;
  }

  int32_t slot_of(int32_t layer) {
    auto it = std::find(layer_ids.begin(), layer_ids.end(), layer);
    if (it != layer_ids.end()) return static_cast<int32_t>(it - layer_ids.begin());
    layer_ids.push_back(layer);
    topk_ids.emplace_back();
    topk_weights.emplace_back();
    scores.emplace_back();
    return static_cast<int32_t>(layer_ids.size() - 1);
  }

  std::shared_ptr<RunData> snapshot() const {
    auto run = std::make_shared<RunData>();
    run->summary = summary;
    auto& r = run->routing;
    // Tokens whose routing every layer has reported: a step in flight shows up when complete.
    size_t n = step_of_token.size();
    for (const auto& ids : topk_ids) n = std::min(n, top_k > 0 ? ids.size() / static_cast<size_t>(top_k) : 0);
    if (layer_ids.empty()) n = 0;
    r.n_tokens = static_cast<int32_t>(n);
    r.n_layers = static_cast<int32_t>(layer_ids.size());
    r.n_experts = std::max(n_experts, 1);
    r.top_k = std::max(top_k, 1);
    r.layer_ids = layer_ids;
    const bool with_scores = std::all_of(scores.begin(), scores.end(),
                                         [&](const auto& s) { return s.size() >= n * static_cast<size_t>(n_experts); });
    for (size_t l = 0; l < layer_ids.size(); ++l) {
      r.topk_ids.insert(r.topk_ids.end(), topk_ids[l].begin(), topk_ids[l].begin() + static_cast<ptrdiff_t>(n * top_k));
      r.topk_weights.insert(r.topk_weights.end(), topk_weights[l].begin(), topk_weights[l].begin() + static_cast<ptrdiff_t>(n * top_k));
      if (with_scores) r.scores.insert(r.scores.end(), scores[l].begin(), scores[l].begin() + static_cast<ptrdiff_t>(n * n_experts));
    }
    r.step_of_token.assign(step_of_token.begin(), step_of_token.begin() + static_cast<ptrdiff_t>(n));
    r.token_ids.assign(token_ids.begin(), token_ids.begin() + static_cast<ptrdiff_t>(n));
    run->token_text.assign(token_text.begin(), token_text.begin() + static_cast<ptrdiff_t>(std::min(n, token_text.size())));
    run->token_text.resize(n);
    run->generated.assign(generated.begin(), generated.begin() + static_cast<ptrdiff_t>(std::min(n, generated.size())));
    run->generated.resize(n, 1);
    run->timings = timings;
    run->traffic = traffic;
    run->enforce_capacity_factor = enforce_capacity_factor;
    if (enforce_capacity_factor > 0) {
      run->dropped_per_token.assign(dropped_per_token.begin(), dropped_per_token.begin() + static_cast<ptrdiff_t>(std::min(n, dropped_per_token.size())));
      run->dropped_per_token.resize(n, 0);
    }
    run->summary.n_tokens = static_cast<int32_t>(n);
    run->revision = revision;
    return run;
  }
};

namespace {

// Copies what the engine reports into Live, and throws Cancelled at the next callback once the
// user asked to stop. Events of a step reach the session writer only when the step is complete,
// so a cancelled step never leaves half a step in the file.
class StreamObserver final : public ForwardObserver {
 public:
  StreamObserver(RunController::Live& live, const std::atomic<bool>& cancel, ForwardObserver* recorder)
      : live_(live), cancel_(cancel), recorder_(recorder) {}

  void on_step_begin(const StepInfo& info) override {
    check_cancel();
    pending_routing_.clear();
    pending_timing_.clear();
    pending_traffic_.clear();
    step_ = info;
  }
  void on_routing(const RoutingEvent& e) override {
    check_cancel();
    pending_routing_.push_back(OwnedRouting::copy(e));
  }
  void on_timing(const PhaseTiming& t) override {
    check_cancel();
    pending_timing_.push_back(t);
  }
  void on_all_to_all(const AllToAllEvent& e) override {
    check_cancel();
    pending_traffic_.push_back({e.step, e.layer, e.n_ranks, {e.tokens.begin(), e.tokens.end()},
                                {e.bytes.begin(), e.bytes.end()}, e.modeled_us, e.measured_us});
  }
  void on_step_end(const StepInfo& info, std::span<const float> logits) override {
    check_cancel();
    if (recorder_) {
      recorder_->on_step_begin(step_);
      for (const auto& r : pending_routing_) recorder_->on_routing(r.view());
      for (const auto& t : pending_timing_) recorder_->on_timing(t);
      for (const auto& m : pending_traffic_) {
        AllToAllEvent e{m.step, m.layer, m.n_ranks, m.tokens, m.bytes, m.measured_us, m.modeled_us};
        recorder_->on_all_to_all(e);
      }
      recorder_->on_step_end(info, logits);
    }
    std::lock_guard lock(live_.mutex);
    for (const auto& r : pending_routing_) {
      const int32_t slot = live_.slot_of(r.layer);
      live_.n_experts = r.n_experts;
      live_.top_k = r.top_k;
      live_.topk_ids[slot].insert(live_.topk_ids[slot].end(), r.topk_ids.begin(), r.topk_ids.end());
      live_.topk_weights[slot].insert(live_.topk_weights[slot].end(), r.topk_weights.begin(), r.topk_weights.end());
      live_.scores[slot].insert(live_.scores[slot].end(), r.scores.begin(), r.scores.end());
      // Enforced capacity: each token's dropped assignments, summed over layers (as the session's
      // dropped masks give them when the run is reloaded).
      if (r.top_k > 0 && r.dropped.size() == static_cast<size_t>(r.n_tokens) * static_cast<size_t>(r.top_k)) {
        const auto end = static_cast<size_t>(r.first_position + r.n_tokens);
        if (live_.dropped_per_token.size() < end) live_.dropped_per_token.resize(end, 0);
        for (int32_t i = 0; i < r.n_tokens; ++i) {
          for (int32_t k = 0; k < r.top_k; ++k) live_.dropped_per_token[static_cast<size_t>(r.first_position + i)] += r.dropped[static_cast<size_t>(i) * r.top_k + k];
        }
      }
    }
    for (int32_t i = 0; i < info.n_tokens; ++i) live_.step_of_token.push_back(info.step);
    for (const auto& t : pending_timing_) live_.timings.push_back({t.step, t.layer, t.phase, t.start_us, t.duration_us});
    for (auto& m : pending_traffic_) live_.traffic.push_back(std::move(m));
    live_.progress.tokens_done = static_cast<int32_t>(live_.step_of_token.size());
    ++live_.revision;
  }

 private:
  struct OwnedRouting {
    int64_t step = 0, first_position = 0;
    int32_t layer = 0, n_tokens = 0, n_experts = 0, top_k = 0;
    std::vector<float> router_logits, scores, topk_weights;
    std::vector<int32_t> topk_ids;
    std::vector<uint8_t> dropped;
    static OwnedRouting copy(const RoutingEvent& e) {
      return {e.step, e.first_position, e.layer, e.n_tokens, e.n_experts, e.top_k,
              {e.router_logits.begin(), e.router_logits.end()}, {e.scores.begin(), e.scores.end()},
              {e.topk_weights.begin(), e.topk_weights.end()}, {e.topk_ids.begin(), e.topk_ids.end()},
              {e.dropped.begin(), e.dropped.end()}};
    }
    RoutingEvent view() const {
      return {step, layer, first_position, n_tokens, n_experts, top_k, router_logits, scores, topk_ids, topk_weights, dropped};
    }
  };

  void check_cancel() const {
    if (cancel_.load(std::memory_order_relaxed)) throw Cancelled{};
  }

  RunController::Live& live_;
  const std::atomic<bool>& cancel_;
  ForwardObserver* recorder_;
  StepInfo step_;
  std::vector<OwnedRouting> pending_routing_;
  std::vector<PhaseTiming> pending_timing_;
  std::vector<TrafficMatrix> pending_traffic_;
};

}  // namespace

RunController::RunController() : live_(std::make_shared<Live>()) {}

RunController::~RunController() {
  cancel();
  if (worker_.joinable()) worker_.join();
}

void RunController::start(RunRequest request) {
  if (running_.load()) fail_input("a run is already in progress; cancel it first");
  if (worker_.joinable()) worker_.join();
  cancel_.store(false);
  live_ = std::make_shared<Live>();
  live_->started = Clock::now();
  live_->progress = {true, "loading model", 0, 0, 0};
  live_->summary.id = -1;  // a live run has no session id until recorded
  live_->summary.tag = request.tag;
  live_->summary.prompt = request.prompt;
  live_->summary.status = "running";
  live_->summary.backend = request.engine.backend == Backend::cuda ? "cuda" : "cpu";
  live_->enforce_capacity_factor = request.engine.enforce_capacity_factor;
  running_.store(true);
  worker_ = std::thread([this, request = std::move(request)]() mutable { work(std::move(request)); });
}

void RunController::cancel() {
  if (!running_.load()) return;
  {
    std::lock_guard lock(live_->mutex);
    if (!live_->cancel_seen) live_->cancel_requested = Clock::now();
    live_->cancel_seen = true;
  }
  cancel_.store(true);
}

RunProgress RunController::progress() const {
  std::lock_guard lock(live_->mutex);
  RunProgress p = live_->progress;
  if (p.running) p.elapsed_s = seconds_since(live_->started);
  return p;
}

std::shared_ptr<RunData> RunController::take_update() {
  std::lock_guard lock(live_->mutex);
  if (live_->revision == live_->taken_revision) return nullptr;
  live_->taken_revision = live_->revision;
  return live_->snapshot();
}

std::optional<RunOutcome> RunController::take_outcome() {
  std::lock_guard lock(live_->mutex);
  std::optional<RunOutcome> out;
  std::swap(out, live_->outcome);
  return out;
}

bool RunController::wait(double timeout_s) {
  std::unique_lock lock(live_->mutex);
  return live_->finished_cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return !running_.load(); });
}

void RunController::work(RunRequest request) {
  Live& live = *live_;
  auto set_stage = [&](const char* stage) {
    std::lock_guard lock(live.mutex);
    live.progress.stage = stage;
  };
  RunOutcome outcome;
  std::unique_ptr<sessions::SessionWriter> writer;
  bool run_begun = false;
  try {
    auto model = load_model(request.model_dir);
    auto tokenizer = load_tokenizer_for_model(request.model_dir);
    if (cancel_.load()) throw Cancelled{};
    if (request.batch.empty()) request.batch.push_back({request.prompt, request.tag, 0});
    if (request.engine.n_threads <= 0) {
      // Leave a core to the UI thread (and a software GL rasteriser) so drawing never starves.
      request.engine.n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() - 1));
    }
    auto engine = create_engine(*model, request.engine);
    int64_t model_id = 0;
    if (!request.session_file.empty()) {
      sessions::RecorderOptions options;
      options.capacity_factors = request.capacity_factors;
      options.store_router_logits = request.store_router_logits;
      writer = std::make_unique<sessions::SessionWriter>(request.session_file, "gui", options);
      model_id = writer->add_model(sessions::describe_model(*model));
    }
    for (size_t p = 0; p < request.batch.size(); ++p) {
      const sessions::PromptEntry& item = request.batch[p];
      const std::vector<int32_t> prompt_ids = tokenizer->encode(item.text, true);
      if (prompt_ids.empty()) fail_input("prompt " + std::to_string(p + 1) + " is empty after tokenisation");
      // Generation stops where the KV cache ends rather than failing the run.
      const int64_t context = std::min<int64_t>(request.engine.max_context > 0 ? request.engine.max_context : INT64_MAX,
                                                model->config.max_position_embeddings);
      const int max_new_tokens = static_cast<int>(std::clamp<int64_t>(context - static_cast<int64_t>(prompt_ids.size()), 0, request.max_new_tokens));
      {
        // A fresh live run per prompt: the UI shows the one in progress.
        std::lock_guard lock(live.mutex);
        const RunProgress progress = live.progress;
        const RunSummary summary = live.summary;
        live.reset_routing();
        live.progress = progress;
        live.progress.stage = "prefill";
        live.progress.prompt_index = static_cast<int32_t>(p);
        live.progress.prompt_count = static_cast<int32_t>(request.batch.size());
        live.progress.tokens_done = 0;
        live.progress.tokens_total = static_cast<int32_t>(prompt_ids.size()) + max_new_tokens;
        live.summary = summary;
        live.summary.tag = item.tag;
        live.summary.prompt = item.text;
        live.summary.backend = engine->info().backend;
        live.summary.device = engine->info().device;
        live.summary.n_prompt_tokens = static_cast<int32_t>(prompt_ids.size());
        for (int32_t id : prompt_ids) {
          live.token_ids.push_back(id);
          live.token_text.push_back(tokenizer->display_text(id));
          live.generated.push_back(0);
        }
      }
      if (writer) {
        sessions::RunInfo info = sessions::run_info_for(*engine, model_id);
        info.prompt_text = item.text;
        info.tag = item.tag;
        // The keys `moescope run` writes that a window's run has, so a reloaded run (and the GUI's
        // capacity-enforcement line) reads them the same way.
        info.settings_json = nlohmann::json{{"max_new_tokens", request.max_new_tokens},
                                            {"temperature", request.sampling.temperature},
                                            {"top_p", request.sampling.top_p},
                                            {"seed", request.sampling.seed},
                                            {"enforce_capacity_factor", request.engine.enforce_capacity_factor},
                                            {"ep_degree", request.engine.ep_degree},
                                            {"interconnect", request.engine.ep_interconnect}}
                                 .dump();
        outcome.recorded_run_id = writer->begin_run(info);
        run_begun = true;
      }
      engine->reset();
      StreamObserver observer(live, cancel_, writer ? &writer->observer() : nullptr);
      engine->set_observer(&observer);
      std::vector<sessions::TokenRecord> records;
      for (size_t i = 0; i < prompt_ids.size(); ++i) {
        records.push_back({static_cast<int64_t>(i), prompt_ids[i], tokenizer->display_text(prompt_ids[i]), true, std::nullopt, std::nullopt});
      }
      std::vector<float> logits;
      std::mt19937_64 rng(request.sampling.seed);
      std::vector<int32_t> ids = prompt_ids;
      engine->forward(prompt_ids, false, logits);
      set_stage("generating");
      for (int n = 0; n < max_new_tokens; ++n) {
        const int32_t next = sample_token(logits, request.sampling, rng);
        records.push_back({static_cast<int64_t>(ids.size()), next, tokenizer->display_text(next), false,
                           token_logprob(logits, next), std::nullopt});
        ids.push_back(next);
        {
          std::lock_guard lock(live.mutex);
          live.token_ids.push_back(next);
          live.token_text.push_back(tokenizer->display_text(next));
          live.generated.push_back(1);
        }
        if (tokenizer->eos_id() && next == *tokenizer->eos_id()) break;
        if (n + 1 == max_new_tokens) break;  // the last token is sampled, not run
        engine->forward(std::span<const int32_t>(&ids.back(), 1), false, logits);
      }
      engine->set_observer(nullptr);
      if (writer) {
        set_stage("recording");
        writer->add_tokens(records);
        writer->end_run({sessions::RunStatus::complete, ""});
        run_begun = false;
      }
    }
    if (writer) writer->flush();
  } catch (const Cancelled&) {
    outcome.cancelled = true;
  } catch (const std::exception& e) {
    outcome.error = e.what();
  }
  if (writer && run_begun) {
    // Keep the partial run, marked: every completed step is in it, nothing half-written.
    try {
      writer->end_run({sessions::RunStatus::failed, outcome.cancelled ? "cancelled by the user" : outcome.error});
      writer->flush();
    } catch (const std::exception& e) {
      if (outcome.error.empty()) outcome.error = e.what();
    }
  }
  writer.reset();
  std::lock_guard lock(live.mutex);
  if (live.cancel_seen) outcome.cancel_latency_s = seconds_since(live.cancel_requested);
  live.progress.running = false;
  live.progress.elapsed_s = seconds_since(live.started);
  live.progress.stage = outcome.cancelled ? "cancelled" : outcome.error.empty() ? "done" : "failed";
  live.summary.status = outcome.cancelled ? "cancelled" : outcome.error.empty() ? "complete" : "failed";
  ++live.revision;
  live.outcome = outcome;
  running_.store(false);
  live.finished_cv.notify_all();
}

}  // namespace moescope::ui
