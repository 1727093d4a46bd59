// `moescope record`: a prompt set (JSON Lines) through the model, each prompt one recorded run in a
// session file, with a progress bar on stderr. A prompt the model cannot take (too long) is
// recorded as a failed run and the set goes on; a session write error (disk full) stops it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/checked_flags.h"
#include "app/engine_flags.h"
#include "app/recorded_generation.h"
#include "app/user_text_encoding.h"
#include "app/verb_registry.h"
#include "core/engine_factory.h"
#include "core/error.h"
#include "core/generate.h"
#include "core/model.h"
#include "core/terminal_text.h"
#include "core/text_capacity.h"
#include "core/tokenizer.h"
#include "sessions/default_path.h"
#include "sessions/prompt_set.h"
#include "sessions/recorder.h"

namespace moescope {
namespace {

struct RecordArgs {
  std::string model_dir;
  std::string prompts;
  std::string db;
  std::string default_tag;
  int64_t max_new_tokens = 16;
  double temperature = 0.0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::string backend = "cpu";
  int threads = 0;
  double enforce_capacity = 0.0;
  bool store_router_logits = false;
  int64_t gpu_memory_cap = 0;
  OffloadFlags offload;
};

class ProgressBar {
 public:
  explicit ProgressBar(size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) != 0) {}

  void update(size_t done, const std::string& tag, int64_t tokens, double seconds) {
    double rate = seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0;
    if (!tty_) {
      std::fprintf(stderr, "%zu/%zu prompts done (%s), %.1f tokens/s\n", done, total_,
                   terminal_safe(tag).c_str(), rate);
      return;
    }
    constexpr int kWidth = 30;
    int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu prompts  %-10.10s %7.1f tok/s", bar.c_str(), done, total_,
                 terminal_safe(tag).c_str(), rate);
    if (done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  size_t total_;
  bool tty_;
};

void run_record(const RecordArgs& args) {
  auto prompts = sessions::load_prompt_set(args.prompts, args.default_tag);
  auto model = load_model(args.model_dir);
  auto tokenizer = load_tokenizer_for_model(args.model_dir);
  const int64_t limit = model->config.max_position_embeddings;
  // Refused before anything is recorded: no prompt could fit, every run would fail.
  if (args.max_new_tokens >= limit)
    fail_input("--max-new-tokens " + std::to_string(args.max_new_tokens) +
               " leaves no room for a prompt in the model's max_position_embeddings of " +
               std::to_string(limit));
  const TextCapacity capacity(*tokenizer);

  EngineOptions options;
  options.backend = parse_backend(args.backend);
  options.memory_cap_bytes = args.gpu_memory_cap;
  apply_offload_flags(args.offload, options);
  options.n_threads = args.threads;
  options.enforce_capacity_factor = args.enforce_capacity;
  auto engine = create_engine(*model, options);

  const std::filesystem::path db =
      args.db.empty() ? sessions::default_session_path() : std::filesystem::path(args.db);
  if (!db.parent_path().empty()) std::filesystem::create_directories(db.parent_path());
  sessions::RecorderOptions recorder_options;
  recorder_options.store_router_logits = args.store_router_logits;
  sessions::SessionWriter writer(db, "record", recorder_options);
  const int64_t model_id = writer.add_model(sessions::describe_model(*model));
  nlohmann::json settings_json{{"max_new_tokens", args.max_new_tokens},
                               {"temperature", args.temperature},
                               {"top_p", args.top_p},
                               {"seed", args.seed},
                               {"enforce_capacity_factor", args.enforce_capacity},
                               {"prompt_set", args.prompts}};
  add_offload_settings(*engine, options, settings_json);
  const std::string settings = settings_json.dump();

  ProgressBar progress(prompts.size());
  auto start = std::chrono::steady_clock::now();
  int64_t tokens_done = 0;
  size_t failed = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const sessions::PromptEntry& prompt = prompts[i];
    sessions::RunInfo info = sessions::run_info_for(*engine, model_id);
    info.prompt_text = prompt.text;
    info.tag = prompt.tag;
    info.settings_json = settings;
    writer.begin_run(info);
    try {
      GenerationRequest request;
      // Measured before it is tokenized (core/text_capacity.h): a prompt of megabytes is refused
      // by its length instead of costing seconds and gigabytes first.
      const uint64_t most_bytes = capacity.max_text_bytes(limit - args.max_new_tokens);
      if (prompt.text.size() > most_bytes) {
        fail_input(args.prompts + ":" + std::to_string(prompt.line) + ": the prompt is " +
                   std::to_string(prompt.text.size()) + " bytes; with " +
                   std::to_string(args.max_new_tokens) + " new tokens the model's max_position_embeddings " +
                   std::to_string(limit) + " leaves room for at most " + std::to_string(most_bytes) +
                   " bytes with this tokenizer");
      }
      request.prompt_ids = encode_user_text(*tokenizer, prompt.text, true,
                                            "the prompt on line " + std::to_string(prompt.line));
      if (static_cast<int64_t>(request.prompt_ids.size()) + args.max_new_tokens > limit) {
        fail_input(args.prompts + ":" + std::to_string(prompt.line) + ": the prompt has " +
                   std::to_string(request.prompt_ids.size()) + " tokens; with " +
                   std::to_string(args.max_new_tokens) + " new tokens that exceeds max_position_embeddings " +
                   std::to_string(limit));
      }
      request.max_new_tokens = args.max_new_tokens;
      request.sampling = {args.temperature, args.top_p, args.seed};
      if (auto eos = tokenizer->eos_id()) request.stop_token = *eos;
      engine->set_observer(&writer.observer());
      GenerationResult result = generate(*engine, request);
      engine->set_observer(nullptr);
      finish_recorded_generation(writer, *model, options, *tokenizer, result,
                                 static_cast<int64_t>(request.prompt_ids.size()));
      tokens_done += static_cast<int64_t>(result.tokens.size());
    } catch (const InputError& e) {
      engine->set_observer(nullptr);
      writer.end_run({sessions::RunStatus::failed, e.what()});
      ++failed;
      std::fprintf(stderr, "\nprompt on line %d failed: %s\n", prompt.line, terminal_safe(e.what()).c_str());
    } catch (...) {
      engine->set_observer(nullptr);
      throw;  // a session write error or a broken engine: stop; committed runs stay
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(i + 1, prompt.tag, tokens_done, seconds);
  }
  writer.flush();
  const std::string where = terminal_safe(db.string());
  // Every prompt failed: nothing was recorded, and a script must not take that for success.
  if (failed == prompts.size()) {
    std::fprintf(stderr,
                 "moescope: error: none of the %zu prompts was recorded (all failed, each kept as a failed "
                 "run in %s)\n",
                 prompts.size(), where.c_str());
    throw ExitWith{1};
  }
  std::fprintf(stderr, "recorded %zu runs (%zu failed) into %s\n", prompts.size(), failed, where.c_str());
}

void add_record(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  auto* cmd = app.add_subcommand("record", "Record a prompt set (JSON Lines: text, tag) into a session file");
  cmd->add_option("--model", args->model_dir, "Checkpoint folder")->required();
  cmd->add_option("--prompts", args->prompts, "Prompt set: one JSON object per line with text and tag")
      ->required();
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  cmd->add_option("--tag", args->default_tag, "Tag for prompts that have none");
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Tokens to generate per prompt")
      ->capture_default_str()
      ->check(integer_in(0, int64_t{1} << 20));
  cmd->add_option("--temperature", args->temperature, "0 = greedy")
      ->capture_default_str()
      ->check(finite_number_in(0.0, 100.0));
  cmd->add_option("--top-p", args->top_p, "Nucleus sampling mass")
      ->capture_default_str()
      ->check(finite_number_in(0.0, 1.0));
  cmd->add_option("--seed", args->seed, "Sampling seed")
      ->capture_default_str()
      ->check(integer_in(0, kMaxSeed));
  cmd->add_option("--backend", args->backend, "cpu or cuda")->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all)")
      ->capture_default_str()
      ->check(integer_in(0, kMaxCpuThreads));
  add_gpu_memory_cap_flag(*cmd, args->gpu_memory_cap);
  add_offload_flags(*cmd, args->offload);
  cmd->add_option("--enforce-capacity", args->enforce_capacity,
                  "Drop assignments beyond capacity factor C in the forward pass (0 = dropless)")
      ->check(finite_number_in(0.0, 1e6));
  cmd->add_flag("--router-logits", args->store_router_logits, "Also store the gate's raw logits");
  cmd->callback([args] { run_record(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(record, add_record);

}  // namespace moescope
