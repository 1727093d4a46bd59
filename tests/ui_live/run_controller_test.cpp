// Focus: the GUI's live-run streaming without a window (ui/run_controller.h). A worker thread runs
// the CPU engine on the golden mixtral-tiny checkpoint and records into a session file while this
// test's thread plays the UI thread exactly as ui/shell.cpp does each frame: progress(),
// take_update() (copied into the session document with put_live_run) and take_outcome(). Cases:
// updates arrive and grow and end equal to what the session recorded; Cancel mid-run stops the run
// and keeps every completed run; a controller starts again after a cancel; destroying the
// controller mid-run (closing the window) leaves a sound session; an enforced run streams its
// drops and records its factor. Built in every configuration and
// run under ThreadSanitizer in tools/test.sh, where it is the GUI's only threading check.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "sessions/reader.h"
#include "tests/support/test_paths.h"
#include "ui/run_controller.h"
#include "ui/session_data.h"
#include "ui/session_file_source.h"

namespace moescope::ui {
namespace {

using Clock = std::chrono::steady_clock;

// What the UI thread sees across frames, and the checks it makes on every frame.
struct UiThread {
  RunController& controller;
  int frames = 0;
  int updates = 0;
  uint64_t last_revision = 0;
  std::string last_prompt{};
  int32_t last_n_tokens = 0;
  int32_t max_tokens_done = 0;
  std::set<int32_t> prompt_indices{};  // from progress(), while running
  std::set<std::string> stages{};
  std::shared_ptr<RunData> latest{};
  std::optional<RunOutcome> outcome{};
  std::unique_ptr<SessionDoc> doc{};  // as the UI: live copies shown before the session has them

  // One frame: the calls ui/shell.cpp makes, plus what each answer must satisfy.
  void frame() {
    ++frames;
    const RunProgress p = controller.progress();
    stages.insert(p.stage);
    if (p.running) prompt_indices.insert(p.prompt_index);
    if (p.tokens_total > 0) {
      EXPECT_LE(p.tokens_done, p.tokens_total) << "stage " << p.stage;
    }
    max_tokens_done = std::max(max_tokens_done, p.tokens_done);
    if (auto update = controller.take_update()) {
      ++updates;
      EXPECT_GT(update->revision, last_revision) << "an update must be newer than the last one";
      last_revision = update->revision;
      const auto& r = update->routing;
      EXPECT_NO_THROW(analysis::validate(r)) << "a live copy's arrays must agree with their dimensions";
      EXPECT_EQ(update->token_text.size(), static_cast<size_t>(r.n_tokens));
      EXPECT_EQ(update->generated.size(), static_cast<size_t>(r.n_tokens));
      EXPECT_EQ(update->summary.n_tokens, r.n_tokens);
      // Within one prompt the live run only grows; a new prompt starts a fresh live run.
      if (update->summary.prompt == last_prompt) {
        EXPECT_GE(r.n_tokens, last_n_tokens) << "the live run shrank";
      }
      last_prompt = update->summary.prompt;
      last_n_tokens = r.n_tokens;
      latest = update;
      if (doc) doc->put_live_run(update);
    }
    if (auto o = controller.take_outcome()) {
      EXPECT_FALSE(outcome.has_value()) << "an outcome is handed over once";
      outcome = o;
    }
  }

  // A frame saw a prompt after the first running (a slow frame may miss the second altogether).
  bool past_first_prompt() const { return !prompt_indices.empty() && *prompt_indices.rbegin() >= 1; }

  // Frames every 2 ms (a busy UI, to make the two threads meet often) until `done`; false on timeout.
  bool frames_until(const std::function<bool()>& done, double timeout_s = 120) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      frame();
    }
    return true;
  }
  // The worker's last revision and its outcome land together, possibly between this frame's
  // take_update() and take_outcome(): one more frame picks up the final copy, as the UI's next would.
  bool frames_until_outcome(double timeout_s = 120) {
    if (!frames_until([&] { return outcome.has_value(); }, timeout_s)) return false;
    frame();
    return true;
  }
};

// `n` code prompts, each a run of up to `max_new_tokens`, recorded into `session`.
RunRequest prompt_set_request(const std::filesystem::path& session, int n, int max_new_tokens) {
  RunRequest r;
  r.model_dir = test::golden_model("mixtral-tiny");
  r.tag = "code";
  for (int i = 0; i < n; ++i) {
    r.batch.push_back({"def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)  # " + std::to_string(i), "code", 0});
  }
  r.max_new_tokens = max_new_tokens;
  r.sampling.temperature = 0.8;  // sampled, so generation does not settle into an early EOS
  r.sampling.seed = 7;
  r.engine.n_threads = 2;  // the engine's worker pool runs under the streaming observer too
  r.session_file = session;
  return r;
}

// Every run before the last is complete with routing for every token run; returns the runs.
std::vector<sessions::RunSummary> check_session(const std::filesystem::path& file) {
  sessions::SessionReader reader(file);
  auto check = reader.connection().prepare("PRAGMA integrity_check");
  EXPECT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
  auto runs = reader.runs();
  for (const auto& run : runs) {
    if (run.status != "complete") continue;
    const auto routing = reader.routing(run.id);
    EXPECT_EQ(routing.n_tokens, run.n_prompt_tokens + run.n_generated_tokens - 1)
        << "run " << run.id << ": routing covers every token run (the last sampled token is not run)";
  }
  return runs;
}

// A 40-prompt set cancelled after its second prompt started: the prompts before are complete runs,
// the cancelled one is kept as a failed run that says so.
void expect_cancelled_after_complete_runs(const std::vector<sessions::RunSummary>& runs) {
  ASSERT_GE(runs.size(), 2u);
  ASSERT_LT(runs.size(), 40u);
  for (size_t i = 0; i + 1 < runs.size(); ++i) EXPECT_EQ(runs[i].status, "complete") << "run " << runs[i].id;
  EXPECT_EQ(runs.back().status, "failed");
  EXPECT_NE(runs.back().error.find("cancelled"), std::string::npos) << runs.back().error;
}

class RunControllerLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(test::golden_model("mixtral-tiny") / "config.json"))
      GTEST_SKIP() << "golden models not found at " << test::golden_dir();
  }
};

TEST_F(RunControllerLive, Case1_UpdatesStreamInGrowAndEndEqualToTheRecordedRun) {
  const auto session = test::scratch_dir("ui-live-stream") / "s.db";
  RunController controller;
  UiThread ui{controller};
  RunRequest request = prompt_set_request(session, 3, 48);
  request.engine.ep_degree = 2;  // all-to-all traffic streams too
  controller.start(request);
  EXPECT_TRUE(controller.running());
  EXPECT_THROW(controller.start(request), InputError) << "a second start while running is refused";
  ASSERT_TRUE(ui.frames_until_outcome()) << "the run did not finish in 120 s";

  EXPECT_FALSE(ui.outcome->cancelled);
  EXPECT_EQ(ui.outcome->error, "");
  EXPECT_GT(ui.outcome->recorded_run_id, 0);
  EXPECT_LT(ui.outcome->cancel_latency_s, 0) << "no cancel was asked for";
  EXPECT_FALSE(controller.running());
  EXPECT_GE(ui.updates, 3) << "at least one update per prompt";
  for (int32_t index : ui.prompt_indices) EXPECT_LT(index, 3) << "progress names a prompt of the set";
  EXPECT_EQ(controller.progress().prompt_index, 2) << "the last prompt ran";
  EXPECT_EQ(controller.progress().prompt_count, 3);
  EXPECT_TRUE(ui.stages.count("done"));
  EXPECT_EQ(controller.progress().stage, "done");
  EXPECT_FALSE(controller.take_update()) << "nothing changed since the last copy";
  EXPECT_FALSE(controller.take_outcome()) << "the outcome was handed over already";

  // The last copy is the last prompt's run, complete, and equals what the session holds.
  ASSERT_TRUE(ui.latest);
  const RunData& live = *ui.latest;
  EXPECT_EQ(live.summary.status, "complete");
  EXPECT_FALSE(live.timings.empty());
  EXPECT_FALSE(live.traffic.empty()) << "ep_degree 2 reports all-to-all traffic";
  const auto runs = check_session(session);
  ASSERT_EQ(runs.size(), 3u);
  for (const auto& run : runs) EXPECT_EQ(run.status, "complete") << "run " << run.id;
  EXPECT_EQ(runs.back().id, ui.outcome->recorded_run_id);
  sessions::SessionReader reader(session);
  const auto recorded = reader.routing(runs.back().id);
  ASSERT_EQ(live.routing.n_tokens, recorded.n_tokens);
  EXPECT_EQ(live.routing.layer_ids, recorded.layer_ids);
  EXPECT_EQ(live.routing.token_ids, recorded.token_ids);
  EXPECT_EQ(live.routing.topk_ids, recorded.topk_ids) << "the streamed routing is what was recorded";
  EXPECT_EQ(live.routing.step_of_token, recorded.step_of_token);

  // The UI's document over the file (ui/session_file_source) lists the same runs.
  SessionDoc doc(open_session_source(session));
  ASSERT_EQ(doc.runs().size(), 3u);
  auto loaded = doc.run(ui.outcome->recorded_run_id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->routing.topk_ids, live.routing.topk_ids);
}

TEST_F(RunControllerLive, Case2_CancelMidRunKeepsCompletedRunsAndTheControllerStartsAgain) {
  const auto session = test::scratch_dir("ui-live-cancel") / "s.db";
  RunController controller;
  UiThread ui{controller};
  controller.start(prompt_set_request(session, 40, 200));
  // Cancel once a later prompt is streaming: the first is then complete in the session.
  ASSERT_TRUE(ui.frames_until([&] { return ui.past_first_prompt() && ui.latest && ui.latest->routing.n_tokens > 0; }))
      << "the second prompt never streamed";
  ASSERT_TRUE(controller.running()) << "40 prompts cannot all be done yet";
  controller.cancel();
  controller.cancel();  // a second click changes nothing
  ASSERT_TRUE(ui.frames_until_outcome()) << "the cancelled run never finished";
  EXPECT_TRUE(ui.outcome->cancelled);
  EXPECT_EQ(ui.outcome->error, "");
  EXPECT_GE(ui.outcome->cancel_latency_s, 0) << "cancel finished and says how long it took";
  EXPECT_FALSE(controller.running());
  EXPECT_EQ(controller.progress().stage, "cancelled");
  ASSERT_TRUE(ui.latest);
  EXPECT_EQ(ui.latest->summary.status, "cancelled") << "the final copy says so";

  const auto runs = check_session(session);
  expect_cancelled_after_complete_runs(runs);

  // The same controller runs again, into the same session, with the document open as in the UI.
  ui.doc = std::make_unique<SessionDoc>(open_session_source(session));
  ui.outcome.reset();
  ui.last_revision = 0;  // a new run counts its revisions afresh
  controller.start(prompt_set_request(session, 1, 8));
  ASSERT_TRUE(ui.frames_until_outcome()) << "the second run did not finish";
  EXPECT_FALSE(ui.outcome->cancelled) << "the earlier cancel must not carry over";
  EXPECT_EQ(ui.outcome->error, "");
  EXPECT_EQ(ui.latest->summary.status, "complete");
  ui.doc->refresh();
  const auto after = check_session(session);
  ASSERT_EQ(after.size(), runs.size() + 1);
  EXPECT_EQ(after.back().id, ui.outcome->recorded_run_id);
  EXPECT_EQ(after.back().status, "complete");
  auto recorded = ui.doc->run(ui.outcome->recorded_run_id);
  ASSERT_TRUE(recorded) << "the document lists the new run after refresh()";
  EXPECT_EQ(recorded->routing.topk_ids, ui.latest->routing.topk_ids);
}

TEST_F(RunControllerLive, Case3_DestroyingTheControllerMidRunLeavesASoundSession) {
  const auto session = test::scratch_dir("ui-live-destroy") / "s.db";
  auto controller = std::make_unique<RunController>();
  UiThread ui{*controller};
  controller->start(prompt_set_request(session, 40, 200));
  ASSERT_TRUE(ui.frames_until([&] { return ui.past_first_prompt() && ui.updates > 2; }));
  ASSERT_TRUE(controller->running());
  controller.reset();  // the window closes: cancels, waits for the worker

  const auto runs = check_session(session);
  expect_cancelled_after_complete_runs(runs);
}

TEST_F(RunControllerLive, Case4_DestroyingTheControllerBeforeTheModelLoadsIsClean) {
  const auto session = test::scratch_dir("ui-live-early") / "s.db";
  {
    RunController controller;
    controller.start(prompt_set_request(session, 40, 200));
  }  // destroyed at once, most likely while the worker loads the model
  if (std::filesystem::exists(session)) check_session(session);
}

TEST_F(RunControllerLive, Case5_AFailingRunSaysWhyOnce) {
  RunController controller;
  UiThread ui{controller};
  RunRequest request = prompt_set_request(test::scratch_dir("ui-live-fail") / "s.db", 1, 4);
  request.model_dir = test::scratch_dir("ui-live-fail-model");  // an empty folder
  controller.start(request);
  ASSERT_TRUE(ui.frames_until_outcome());
  EXPECT_FALSE(ui.outcome->cancelled);
  EXPECT_NE(ui.outcome->error, "");
  EXPECT_EQ(controller.progress().stage, "failed");
  EXPECT_FALSE(controller.running());
}

// A run that enforces capacity streams each token's dropped assignments while it runs, and records
// its factor in the run's settings, so the run reloaded from the session shows the same drops.
TEST_F(RunControllerLive, Case6_AnEnforcedRunStreamsItsDropsAndRecordsItsFactor) {
  const auto session = test::scratch_dir("ui-live-enforced") / "s.db";
  RunController controller;
  UiThread ui{controller};
  RunRequest request = prompt_set_request(session, 1, 8);
  request.engine.enforce_capacity_factor = 1.0;
  controller.start(request);
  ASSERT_TRUE(ui.frames_until_outcome()) << "the run did not finish in 120 s";
  ASSERT_EQ(ui.outcome->error, "");
  ASSERT_TRUE(ui.latest);
  const RunData& live = *ui.latest;
  EXPECT_DOUBLE_EQ(live.enforce_capacity_factor, 1.0);
  ASSERT_EQ(live.dropped_per_token.size(), static_cast<size_t>(live.routing.n_tokens));
  int64_t dropped = 0;
  for (int32_t d : live.dropped_per_token) dropped += d;
  EXPECT_GT(dropped, 0) << "C = 1 over the prompt's prefill drops assignments";

  SessionDoc doc(open_session_source(session));
  auto loaded = doc.run(ui.outcome->recorded_run_id);
  ASSERT_TRUE(loaded);
  EXPECT_DOUBLE_EQ(loaded->enforce_capacity_factor, 1.0) << "the factor is in the recorded settings";
  EXPECT_EQ(loaded->dropped_per_token, live.dropped_per_token) << "the streamed drops are the recorded masks";
}

}  // namespace
}  // namespace moescope::ui
