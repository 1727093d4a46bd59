// Live runs for the GUI: a worker thread loads the model, runs the prompt and generates, streams
// routing, timings and traffic into a RunData the UI copies each frame, and records the run into
// the open session. The UI thread never waits on it; Cancel is honoured at the next layer (the
// observer throws), so it lands well within a second even on a large model.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "core/sampling.h"
#include "sessions/prompt_set.h"
#include "ui/session_data.h"

namespace moescope::ui {

struct RunRequest {
  std::filesystem::path model_dir;
  std::string prompt;
  std::string tag;
  std::vector<sessions::PromptEntry> batch;  // when not empty: these prompts one after another, each a run
  int max_new_tokens = 32;
  SamplingParams sampling;
  EngineOptions engine;
  std::filesystem::path session_file;  // record into it; empty = do not record
  std::vector<double> capacity_factors = {1.0, 1.25, 1.5, 2.0};
  // The gate's raw logits too, so the Routing lab can replay every run made in the window.
  bool store_router_logits = true;
};

struct RunProgress {
  bool running = false;
  std::string stage;  // "loading model", "prefill", "generating", "recording", "done", "cancelled", "failed"
  int32_t tokens_done = 0;
  int32_t tokens_total = 0;
  int32_t prompt_index = 0;  // of a batch
  int32_t prompt_count = 1;
  double elapsed_s = 0;
};

// What a finished run left behind, once.
struct RunOutcome {
  bool cancelled = false;
  std::string error;  // empty when it completed
  int64_t recorded_run_id = 0;  // the last recorded run; 0 when none
  double cancel_latency_s = -1;  // from cancel() to the worker stopping
};

class RunController {
 public:
  RunController();
  ~RunController();  // cancels a run in progress and waits for it (the session stays intact)
  RunController(const RunController&) = delete;
  RunController& operator=(const RunController&) = delete;

  // Throws InputError when a run is already in progress.
  void start(RunRequest request);
  void cancel();
  bool running() const { return running_.load(); }
  RunProgress progress() const;
  // A copy of the live run when it changed since the last call; null otherwise.
  std::shared_ptr<RunData> take_update();
  std::optional<RunOutcome> take_outcome();
  // Blocks up to `timeout_s` for the worker to finish; true when it has.
  bool wait(double timeout_s);

  struct Live;  // the streaming state shared with the worker

 private:
  void work(RunRequest request);

  std::thread worker_;
  std::atomic<bool> running_{false};
  std::atomic<bool> cancel_{false};
  std::shared_ptr<Live> live_;
};

}  // namespace moescope::ui
