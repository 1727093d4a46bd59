// Focus: live runs in the GUI (a worker thread drives the CPU engine on the golden mixtral-tiny
// checkpoint and records into a session): the window keeps drawing while the run goes, Cancel
// stops it within a second, and closing the window mid-run leaves a session file that passes
// SQLite's integrity check with every completed run intact.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sessions/reader.h"
#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope::test {
namespace {


struct LiveRun {
  std::filesystem::path dir;
  CommandResult result;
  nlohmann::json report;
};

// Runs a prompt set of `n_prompts` code prompts, generating up to the model's context each.
LiveRun run_gui(const std::string& label, int n_prompts, const std::string& hooks) {
  LiveRun run;
  run.dir = scratch_dir(label);
  {
    std::ofstream prompts(run.dir / "prompts.jsonl");
    for (int i = 0; i < n_prompts; ++i) {
      prompts << nlohmann::json{{"text", "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)  # " + std::to_string(i)}, {"tag", "code"}}.dump()
              << "\n";
    }
  }
  const std::string cmd = "xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" + (run.dir / "xdg").string() +
                          " " + moescope_binary().string() + " gui --model " + golden_model("mixtral-tiny").string() +
                          " --session " + (run.dir / "session.db").string() + " --prompts " + (run.dir / "prompts.jsonl").string() +
                          " --max-new-tokens 2000 --size 1024x700 --report " + (run.dir / "report.json").string() + " " + hooks;
  run.result = run_command(cmd);
  std::ifstream in(run.dir / "report.json");
  if (in) run.report = nlohmann::json::parse(in, nullptr, false);
  return run;
}

class LiveRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
    if (!std::filesystem::exists(golden_model("mixtral-tiny") / "config.json")) GTEST_SKIP() << "golden models not found at " << golden_dir();
  }
};

TEST_F(LiveRunTest, WindowKeepsDrawingWhileTheRunIsInProgress) {
  const LiveRun run = run_gui("gui-live-draw", 12, "");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  ASSERT_TRUE(run.report.is_object()) << run.result.output;
  EXPECT_EQ(run.report["outcome"], "complete");
  const double running_s = run.report["running_s"].get<double>();
  const int frames = run.report["frames_while_running"].get<int>();
  ASSERT_GT(running_s, 0.5) << "the run was too short to observe";
  EXPECT_GE(frames / running_s, 4.0) << frames << " frames in " << running_s << " s";
  EXPECT_LT(run.report["max_frame_gap_ms"].get<double>(), 500.0) << "a frame stalled while the run went on";
}

TEST_F(LiveRunTest, CancelStopsTheRunWithinASecond) {
  const LiveRun run = run_gui("gui-live-cancel", 60, "--cancel-after 1.0");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  ASSERT_TRUE(run.report.is_object()) << run.result.output;
  EXPECT_EQ(run.report["outcome"], "cancelled");
  const double latency = run.report["cancel_latency_s"].get<double>();
  EXPECT_GE(latency, 0.0);
  EXPECT_LT(latency, 1.0);
}

TEST_F(LiveRunTest, ClosingTheWindowMidRunLeavesTheSessionIntact) {
  const LiveRun run = run_gui("gui-live-close", 60, "--close-after 1.5");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  sessions::SessionReader reader(run.dir / "session.db");
  auto check = reader.connection().prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
  const auto runs = reader.runs();
  ASSERT_GE(runs.size(), 2u) << "expected completed runs before the close";
  ASSERT_LT(runs.size(), 60u) << "the close did not interrupt the prompt set";
  for (size_t i = 0; i + 1 < runs.size(); ++i) {
    EXPECT_EQ(runs[i].status, "complete") << "run " << runs[i].id;
    const auto routing = reader.routing(runs[i].id);
    EXPECT_EQ(routing.n_tokens, runs[i].n_prompt_tokens + runs[i].n_generated_tokens - 1)
        << "routing covers every token run (the last sampled token is not run)";
  }
  EXPECT_EQ(runs.back().status, "failed");
  EXPECT_NE(runs.back().error.find("cancelled"), std::string::npos) << runs.back().error;
}

}  // namespace
}  // namespace moescope::test
