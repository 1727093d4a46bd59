// Chrome Trace Event Format (the JSON object form), which Perfetto and chrome://tracing open. Each
// run is a process (pid = run id); thread 0 holds the forward steps, thread L+1 holds layer L's
// phases, thread 1000 the phases outside layers (embedding, LM head). Timestamps are microseconds
// from the run's start. All-to-all traffic per layer becomes a counter track; offloaded experts'
// copies and the stalls waiting for them get a thread each.
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sessions/export.h"
#include "sessions/reader.h"

namespace moescope::sessions {
namespace {

constexpr int kStepThread = 0;
constexpr int kOutsideLayersThread = 1000;
// Offloaded runs: expert copies on the copy stream, and the compute stream's waits for them.
constexpr int kCopyThread = 1001;
constexpr int kStallThread = 1002;

int thread_of_layer(int32_t layer) { return layer < 0 ? kOutsideLayersThread : layer + 1; }

nlohmann::json metadata(const char* name, int64_t pid, int tid, const std::string& value) {
  return {{"name", name}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", value}}}};
}

}  // namespace

void export_chrome_trace(SessionReader& reader, const std::filesystem::path& out_file,
                         const ExportOptions& options) {
  nlohmann::json events = nlohmann::json::array();
  std::vector<RunSummary> runs =
      options.run_id ? std::vector<RunSummary>{reader.run(*options.run_id)} : reader.runs();
  for (const RunSummary& run : runs) {
    const int64_t pid = run.id;
    std::string label = "run " + std::to_string(run.id) + ": " + run.model_type +
                        (run.tag.empty() ? "" : " [" + run.tag + "]") + " on " + run.device;
    events.push_back(metadata("process_name", pid, kStepThread, label));
    events.push_back(metadata("thread_name", pid, kStepThread, "forward steps"));
    events.push_back(metadata("thread_name", pid, kOutsideLayersThread, "embedding / lm_head"));
    for (int32_t layer : run.moe_layers)
      events.push_back(
          metadata("thread_name", pid, thread_of_layer(layer), "layer " + std::to_string(layer)));

    // Steps are timed by the recorder's clock and phases by the engine's, relative to their step.
    // Where a step's phases end after the step (clocks disagree), the step is stretched and later
    // steps shift, so slices on one thread never partly overlap (Perfetto would cut them).
    std::vector<StepRow> steps = reader.steps(run.id);
    std::vector<TimingRow> timings = reader.timings(run.id);
    std::map<int64_t, double> phase_end;  // step -> latest phase end, from the step's start
    for (const TimingRow& timing : timings) {
      double end = timing.start_us + std::max(0.0, timing.duration_us);
      phase_end[timing.step] = std::max(phase_end[timing.step], end);
    }
    std::map<int64_t, double> step_ts;
    double previous_end = 0;
    for (const StepRow& step : steps) {
      double ts = std::max(step.start_us, previous_end);
      double dur = std::max(step.duration_us, phase_end.contains(step.step) ? phase_end[step.step] : 0.0);
      step_ts[step.step] = ts;
      previous_end = ts + dur;
      events.push_back(
          {{"name", step.n_tokens > 1 || step.step == 0 ? "prefill" : "decode"},
           {"cat", "step"},
           {"ph", "X"},
           {"pid", pid},
           {"tid", kStepThread},
           {"ts", ts},
           {"dur", dur},
           {"args",
            {{"step", step.step}, {"first_position", step.first_position}, {"n_tokens", step.n_tokens}}}});
    }
    auto start_of = [&](int64_t step) { return step_ts.contains(step) ? step_ts[step] : 0.0; };
    for (const TimingRow& timing : timings) {
      events.push_back({{"name", timing.phase},
                        {"cat", "phase"},
                        {"ph", "X"},
                        {"pid", pid},
                        {"tid", thread_of_layer(timing.layer)},
                        {"ts", start_of(timing.step) + timing.start_us},
                        {"dur", std::max(0.0, timing.duration_us)},
                        {"args", {{"step", timing.step}, {"layer", timing.layer}}}});
    }
    const std::vector<OffloadEvent> offload = reader.offload(run.id);
    if (!offload.empty()) {
      events.push_back(metadata("thread_name", pid, kCopyThread, "expert copies"));
      events.push_back(metadata("thread_name", pid, kStallThread, "stalls on expert copies"));
    }
    for (const OffloadEvent& row : offload) {
      const nlohmann::json args = {{"step", row.step},          {"layer", row.layer},
                                   {"lookups", row.lookups},    {"hits", row.hits},
                                   {"bytes_copied", row.bytes_copied}};
      if (row.copy_us > 0)
        events.push_back({{"name", "copy experts, layer " + std::to_string(row.layer)},
                          {"cat", "offload"},
                          {"ph", "X"},
                          {"pid", pid},
                          {"tid", kCopyThread},
                          {"ts", start_of(row.step) + row.copy_start_us},
                          {"dur", row.copy_us},
                          {"args", args}});
      if (row.stall_us > 0)
        events.push_back({{"name", "stall, layer " + std::to_string(row.layer)},
                          {"cat", "offload"},
                          {"ph", "X"},
                          {"pid", pid},
                          {"tid", kStallThread},
                          {"ts", start_of(row.step) + row.stall_start_us},
                          {"dur", row.stall_us},
                          {"args", args}});
    }
    for (const AllToAllStep& exchange : reader.all_to_all(run.id)) {
      int64_t remote = 0;  // tokens that leave their rank
      for (int32_t src = 0; src < exchange.n_ranks; ++src) {
        for (int32_t dst = 0; dst < exchange.n_ranks; ++dst) {
          if (src != dst) remote += exchange.tokens[static_cast<size_t>(src) * exchange.n_ranks + dst];
        }
      }
      events.push_back({{"name", "all_to_all remote tokens, layer " + std::to_string(exchange.layer)},
                        {"cat", "all_to_all"},
                        {"ph", "C"},
                        {"pid", pid},
                        {"tid", kStepThread},
                        {"ts", start_of(exchange.step)},
                        {"args", {{"tokens", remote}}}});
    }
  }
  nlohmann::json document = {{"traceEvents", std::move(events)},
                             {"displayTimeUnit", "ms"},
                             {"otherData", {{"producer", "moescope"}, {"source", reader.path().string()}}}};
  std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
  if (!out) throw ResourceError(out_file.string() + ": cannot write the export file");
  out << document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  if (!out.flush()) throw ResourceError(out_file.string() + ": write failed (disk full?)");
}

}  // namespace moescope::sessions
