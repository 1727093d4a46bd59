#include "sessions/recorder.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include "core/engine.h"
#include "core/input_file.h"
#include "core/model.h"
#include "sessions/array_rows_table.h"
#include "sessions/routing_rows_table.h"
#include "sessions/run_writer.h"
#include "sessions/session_file.h"

namespace moescope::sessions {
namespace {

using Clock = std::chrono::steady_clock;

int64_t thread_cpu_us() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

double microseconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

}  // namespace

// Everything the caller's thread, the engine's observer callbacks and the writer thread share.
struct SessionWriter::State : ForwardObserver {
  // What the caller's thread queues for the writer thread. Nested here rather than in an anonymous
  // namespace: State has linkage, and GCC warns (-Wsubobject-linkage) when a unity build includes
  // this file and State's queue holds a type without it.
  struct AddModelCommand {
    ModelInfo model;
    std::promise<int64_t> id;
  };
  struct BeginRunCommand {
    RunInfo info;
    std::promise<int64_t> id;
  };
  struct StepCommand {
    StepRecord step;
  };
  struct TokensCommand {
    std::vector<TokenRecord> tokens;
  };
  struct EndRunCommand {
    RunEnd end;
    double total_us = 0;
  };
  struct FlushCommand {
    std::promise<void> done;
  };
  using Command =
      std::variant<AddModelCommand, BeginRunCommand, StepCommand, TokensCommand, EndRunCommand, FlushCommand>;

  struct QueuedCommand {
    Command command;
    int64_t bytes = 0;
  };

  std::filesystem::path path;
  RecorderOptions options;
  int64_t session_id = 0;
  Connection connection;  // used only by the writer thread once it runs

  std::mutex mutex;
  std::condition_variable not_empty;
  std::condition_variable not_full;
  std::deque<QueuedCommand> queue;
  int64_t queued_bytes = 0;
  bool stopping = false;
  std::exception_ptr error;  // the writer's first failure; every later call rethrows it
  WriterStats stats;
  std::thread thread;

  // Caller / engine thread only.
  bool run_open = false;
  Clock::time_point run_start;
  StepRecord step;
  bool step_open = false;

  // Writer thread only.
  std::unique_ptr<RunStatements> run_statements;  // prepared at the first run, kept for the next
  std::unique_ptr<RunWriter> run;

  void push(Command command, int64_t bytes) {
    std::unique_lock lock(mutex);
    if (error) std::rethrow_exception(error);
    if (queued_bytes > 0 && queued_bytes + bytes > options.queue_capacity_bytes) {
      auto wait_start = Clock::now();
      not_full.wait(lock, [&] {
        return error || queued_bytes == 0 || queued_bytes + bytes <= options.queue_capacity_bytes;
      });
      stats.engine_wait_us += static_cast<int64_t>(microseconds_between(wait_start, Clock::now()));
      if (error) std::rethrow_exception(error);
    }
    queue.push_back({std::move(command), bytes});
    queued_bytes += bytes;
    stats.peak_queue_bytes = std::max(stats.peak_queue_bytes, queued_bytes);
    not_empty.notify_one();
  }

  void throw_if_failed() {
    std::lock_guard lock(mutex);
    if (error) std::rethrow_exception(error);
  }

  // --- writer thread ---

  void writer_loop() {
    // Named so profilers and debuggers can tell it from the engine's threads (15 characters at most).
    pthread_setname_np(pthread_self(), "moescope-writer");
    for (;;) {
      QueuedCommand item;
      {
        std::unique_lock lock(mutex);
        not_empty.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;
        item = std::move(queue.front());
        queue.pop_front();
      }
      bool failed = false;
      {
        std::lock_guard lock(mutex);
        failed = error != nullptr;
      }
      if (failed) {
        refuse(item.command);
      } else {
        int64_t cpu_start = thread_cpu_us();
        try {
          execute(item.command);
          std::lock_guard lock(mutex);
          stats.writer_cpu_us += thread_cpu_us() - cpu_start;
        } catch (...) {
          record_failure(std::current_exception());
          refuse(item.command);
        }
      }
      std::lock_guard lock(mutex);
      queued_bytes -= item.bytes;
      not_full.notify_all();
    }
    // A run never ended (the caller gave up, or the process is closing) rolls back here.
    run.reset();
    run_statements.reset();
  }

  void execute(Command& command) {
    if (auto* add = std::get_if<AddModelCommand>(&command)) {
      add->id.set_value(insert_model(add->model));
    } else if (auto* begin = std::get_if<BeginRunCommand>(&command)) {
      run.reset();
      if (!run_statements) run_statements = std::make_unique<RunStatements>(connection);
      run = std::make_unique<RunWriter>(connection, *run_statements, session_id, begin->info, options);
      begin->id.set_value(run->run_id());
    } else if (auto* step_command = std::get_if<StepCommand>(&command)) {
      require_run().write_step(step_command->step);
      std::lock_guard lock(mutex);
      ++stats.steps;
      stats.routing_rows = run->routing_rows();
      stats.topk_rows = run->topk_rows();
    } else if (auto* tokens = std::get_if<TokensCommand>(&command)) {
      require_run().write_tokens(tokens->tokens);
    } else if (auto* end = std::get_if<EndRunCommand>(&command)) {
      require_run().finish(end->end, end->total_us);
      run.reset();
    } else if (auto* flush = std::get_if<FlushCommand>(&command)) {
      flush->done.set_value();
    }
  }

  RunWriter& require_run() {
    if (!run) throw std::logic_error("session recorder: data arrived outside a run");
    return *run;
  }

  void refuse(Command& command) {
    std::exception_ptr failure;
    {
      std::lock_guard lock(mutex);
      failure = error;
    }
    if (auto* add = std::get_if<AddModelCommand>(&command)) add->id.set_exception(failure);
    if (auto* begin = std::get_if<BeginRunCommand>(&command)) begin->id.set_exception(failure);
    if (auto* flush = std::get_if<FlushCommand>(&command)) flush->done.set_exception(failure);
  }

  void record_failure(std::exception_ptr failure) {
    int64_t run_id = run ? run->run_id() : 0;
    run.reset();  // rolls the run back; committed runs are untouched
    std::string dropped =
        run_id ? "; run " + std::to_string(run_id) + " was dropped, earlier runs are intact" : "";
    std::exception_ptr shown = failure;
    try {
      std::rethrow_exception(failure);
    } catch (const SqlError& e) {
      if (e.code == SQLITE_FULL) {
        shown = std::make_exception_ptr(ResourceError(
            path.string() + ": disk full (or the session size cap reached) while recording" + dropped));
      } else {
        shown = std::make_exception_ptr(
            ResourceError("recording into " + path.string() + " failed: " + e.what() + dropped));
      }
    } catch (const std::exception& e) {
      shown = std::make_exception_ptr(
          ResourceError("recording into " + path.string() + " failed: " + e.what() + dropped));
    } catch (...) {
    }
    std::lock_guard lock(mutex);
    error = shown;
    not_full.notify_all();
  }

  int64_t insert_model(const ModelInfo& model) {
    // Insert-if-absent in one statement, then look the row up: another process recording the same
    // model into the same file may insert it between a look-up and an insert.
    Statement insert = connection.prepare(
        "INSERT INTO models(path, model_type, family, config_json, n_layers, n_experts, top_k, "
        "n_shared_experts,"
        " parameter_count, active_parameter_count) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(path, config_json) DO NOTHING");
    insert.bind(1, model.path).bind(2, model.model_type).bind(3, model.family).bind(4, model.config_json);
    insert.bind(5, model.n_layers)
        .bind(6, model.n_experts)
        .bind(7, model.top_k)
        .bind(8, model.n_shared_experts);
    insert.bind(9, model.parameter_count).bind(10, model.active_parameter_count).run();
    Statement find = connection.prepare("SELECT id FROM models WHERE path = ? AND config_json = ?");
    find.bind(1, model.path).bind(2, model.config_json);
    if (!find.step()) throw ResourceError(path.string() + ": the model row just written is missing");
    return find.column_int(0);
  }

  // --- observer, on the engine's thread ---

  void require_open_run() const {
    if (!run_open) throw std::logic_error("session recorder: observer attached outside begin_run/end_run");
  }

  void on_step_begin(const StepInfo& info) override {
    require_open_run();
    throw_if_failed();
    step = StepRecord{};
    step.info = info;
    step.start_us = microseconds_between(run_start, Clock::now());
    step_open = true;
  }

  void on_routing(const RoutingEvent& event) override {
    require_open_run();
    if (!step_open) {
      on_step_begin(StepInfo{event.step, event.first_position, event.n_tokens});
    }
    LayerRouting& layer = step.routing.emplace_back();
    layer.layer = event.layer;
    layer.first_position = event.first_position;
    layer.n_tokens = event.n_tokens;
    layer.n_experts = event.n_experts;
    layer.top_k = event.top_k;
    if (options.store_scores) layer.scores.assign(event.scores.begin(), event.scores.end());
    if (options.store_router_logits)
      layer.router_logits.assign(event.router_logits.begin(), event.router_logits.end());
    layer.topk_ids.assign(event.topk_ids.begin(), event.topk_ids.end());
    layer.topk_weights.assign(event.topk_weights.begin(), event.topk_weights.end());
    layer.dropped.assign(event.dropped.begin(), event.dropped.end());
  }

  void on_timing(const PhaseTiming& timing) override {
    require_open_run();
    step.timings.push_back(timing);
  }

  void on_all_to_all(const AllToAllEvent& event) override {
    require_open_run();
    AllToAllRecord& exchange = step.all_to_all.emplace_back();
    exchange.layer = event.layer;
    exchange.n_ranks = event.n_ranks;
    exchange.tokens.assign(event.tokens.begin(), event.tokens.end());
    exchange.bytes.assign(event.bytes.begin(), event.bytes.end());
    exchange.measured_us = event.measured_us;
    exchange.modeled_us = event.modeled_us;
  }

  void on_offload(const OffloadEvent& event) override {
    require_open_run();
    step.offload.push_back(event);
  }

  void on_step_end(const StepInfo& info, std::span<const float>) override {
    require_open_run();
    if (!step_open) on_step_begin(info);
    step.duration_us = microseconds_between(run_start, Clock::now()) - step.start_us;
    step_open = false;
    int64_t bytes = step.size_bytes();
    push(StepCommand{std::move(step)}, bytes);
    step = StepRecord{};
  }
};

SessionWriter::SessionWriter(const std::filesystem::path& path, const std::string& command,
                             RecorderOptions options)
    : state_(std::make_unique<State>()) {
  for (double factor : options.capacity_factors) {
    if (!(factor > 0.0) || !std::isfinite(factor)) {
      fail_input("capacity factor must be a positive number, got " + std::to_string(factor));
    }
  }
  state_->path = path;
  state_->options = std::move(options);
  state_->connection = open_session(path, OpenMode::write);
  register_routing_rows_table(state_->connection.get());
  register_array_rows_table(state_->connection.get());
  if (state_->options.max_page_count > 0) {
    state_->connection.exec(
        ("PRAGMA max_page_count = " + std::to_string(state_->options.max_page_count)).c_str());
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  try {
    Statement insert =
        state_->connection.prepare("INSERT INTO sessions(started_at, command, host) VALUES(?, ?, ?)");
    insert.bind(1, utc_now()).bind(2, command).bind(3, std::string_view(host)).run();
  } catch (const SqlError& e) {
    if (e.code == SQLITE_FULL)
      throw ResourceError(path.string() + ": disk full, cannot start a recording session");
    if (e.code == SQLITE_BUSY)
      throw ResourceError(path.string() +
                          ": the session file is busy (another process is recording into it)");
    throw;
  }
  state_->session_id = state_->connection.last_insert_rowid();
  state_->thread = std::thread([state = state_.get()] { state->writer_loop(); });
}

SessionWriter::~SessionWriter() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->not_empty.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

const std::filesystem::path& SessionWriter::path() const { return state_->path; }
int64_t SessionWriter::session_id() const { return state_->session_id; }

int64_t SessionWriter::add_model(const ModelInfo& model) {
  std::promise<int64_t> promise;
  auto id = promise.get_future();
  state_->push(State::AddModelCommand{model, std::move(promise)}, static_cast<int64_t>(model.config_json.size()));
  return id.get();
}

int64_t SessionWriter::begin_run(const RunInfo& info) {
  state_->throw_if_failed();
  if (state_->run_open) throw std::logic_error("session recorder: begin_run while a run is open");
  std::promise<int64_t> promise;
  auto id = promise.get_future();
  state_->push(State::BeginRunCommand{info, std::move(promise)}, 0);
  int64_t run_id = id.get();
  state_->run_open = true;
  state_->step_open = false;
  state_->run_start = Clock::now();
  return run_id;
}

ForwardObserver& SessionWriter::observer() { return *state_; }

void SessionWriter::add_tokens(std::span<const TokenRecord> tokens) {
  if (!state_->run_open) throw std::logic_error("session recorder: add_tokens outside a run");
  int64_t bytes = 0;
  for (const TokenRecord& token : tokens)
    bytes += static_cast<int64_t>(sizeof token + token.display_text.size());
  state_->push(State::TokensCommand{{tokens.begin(), tokens.end()}}, bytes);
}

void SessionWriter::end_run(const RunEnd& end) {
  if (!state_->run_open) throw std::logic_error("session recorder: end_run without begin_run");
  state_->run_open = false;
  state_->step_open = false;
  state_->push(State::EndRunCommand{end, microseconds_between(state_->run_start, Clock::now())}, 0);
}

void SessionWriter::flush() {
  std::promise<void> promise;
  auto done = promise.get_future();
  state_->push(State::FlushCommand{std::move(promise)}, 0);
  done.get();
}

WriterStats SessionWriter::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

ModelInfo describe_model(const Model& model) {
  ModelInfo info;
  info.path = std::filesystem::absolute(model.dir).lexically_normal().string();
  info.config_json = read_regular_file(model.dir / "config.json", kMaxConfigJsonBytes);
  info.model_type = model.config.model_type;
  info.family = family_name(model.config.family);
  info.n_layers = model.config.num_layers;
  info.n_experts = model.config.n_routed_experts;
  info.top_k = model.config.top_k;
  info.n_shared_experts = model.config.n_shared_experts;
  info.parameter_count = model.parameter_count;
  info.active_parameter_count = model.active_parameter_count;
  return info;
}

RunInfo run_info_for(const Engine& engine, int64_t model_id) {
  RunInfo info;
  info.model_id = model_id;
  info.backend = engine.info().backend;
  info.device = engine.info().device;
  info.moe_layers = engine.config().moe_layers();
  info.n_experts = static_cast<int32_t>(engine.config().n_routed_experts);
  info.top_k = static_cast<int32_t>(engine.config().top_k);
  return info;
}

}  // namespace moescope::sessions
