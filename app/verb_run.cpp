// `moescope run`: a prompt through the model, the continuation printed with a compact table of the
// most used experts per layer, and the run recorded into a session file.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "app/checked_flags.h"
#include "app/engine_flags.h"
#include "app/recorded_generation.h"
#include "app/user_text_encoding.h"
#include "app/verb_registry.h"
#include "core/engine_factory.h"
#include "core/error.h"
#include "core/generate.h"
#include "core/model.h"
#include "core/observer_fanout.h"
#include "core/terminal_text.h"
#include "core/text_capacity.h"
#include "core/tokenizer.h"
#include "sessions/default_path.h"
#include "sessions/placement_file.h"
#include "sessions/recorder.h"

namespace moescope {

namespace {

struct RunArgs {
  std::string model_dir;
  std::string prompt;
  int64_t max_new_tokens = 32;
  double temperature = 0.0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::string backend = "cpu";
  int threads = 0;
  std::string db;
  std::string tag = "custom";
  bool no_record = false;
  bool store_router_logits = false;
  double enforce_capacity = 0.0;
  int ep_degree = 1;
  std::string placement_file;  // expert -> rank map from `moescope placement --out`
  std::string interconnect = "nvlink4";
  int64_t gpu_memory_cap = 0;
  std::string weights = "stored";
  OffloadFlags offload;
};

void print_expert_table(const ExpertHitCounter& counter, int64_t top_k) {
  std::printf("\n%-6s %s\n", "layer", "most used experts (share of the layer's assignments)");
  for (size_t layer = 0; layer < counter.hits.size(); ++layer) {
    const auto& row = counter.hits[layer];
    if (row.empty()) continue;
    const int64_t total = std::accumulate(row.begin(), row.end(), int64_t{0});
    std::vector<int32_t> order(row.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
    std::printf("%-6zu", layer);
    const size_t shown = std::min<size_t>(order.size(), static_cast<size_t>(std::max<int64_t>(top_k, 4)));
    for (size_t i = 0; i < shown; ++i)
      std::printf(" e%-3d %5.1f%%", order[i], total ? 100.0 * static_cast<double>(row[order[i]]) / total : 0.0);
    std::printf("\n");
  }
}

// What enforcing capacity did: the factor, the drops, and (when recorded) the KL to dropless.
void print_capacity_cost(double factor, const ExpertHitCounter& counter, const std::vector<double>& kl) {
  std::printf("\ncapacity factor %g: %lld of %lld assignments dropped (%.2f%%)", factor,
              static_cast<long long>(counter.dropped), static_cast<long long>(counter.assignments),
              counter.assignments ? 100.0 * static_cast<double>(counter.dropped) / static_cast<double>(counter.assignments) : 0.0);
  if (kl.empty()) {
    std::printf("\n");
    return;
  }
  double sum = 0, max = 0;
  for (double v : kl) sum += v, max = std::max(max, v);
  std::printf("; KL to dropless mean %.4g, max %.4g nats per token\n", sum / static_cast<double>(kl.size()), max);
}

// The engines emulate one copy per expert, so a placement with replicas cannot be run yet.
std::vector<int32_t> expert_to_rank_from(const RunArgs& args, const ModelConfig& config) {
  const analysis::ExpertPlacement placement = sessions::read_placement_file(args.placement_file);
  const std::string where = "--placement " + args.placement_file + ": ";
  if (placement.n_ranks != args.ep_degree)
    fail_input(where + "it places experts on " + std::to_string(placement.n_ranks) + " ranks, --ep-degree is " +
               std::to_string(args.ep_degree));
  if (static_cast<int64_t>(placement.ranks_of_expert.size()) != config.n_routed_experts)
    fail_input(where + "it places " + std::to_string(placement.ranks_of_expert.size()) + " experts, the model has " +
               std::to_string(config.n_routed_experts));
  std::vector<int32_t> expert_to_rank;
  for (size_t e = 0; e < placement.ranks_of_expert.size(); ++e) {
    if (placement.ranks_of_expert[e].size() != 1)
      fail_input(where + "expert " + std::to_string(e) + " has " + std::to_string(placement.ranks_of_expert[e].size()) +
                 " copies; runs emulate one copy per expert (place with --method balanced or eplb --replicas 0)");
    expert_to_rank.push_back(placement.ranks_of_expert[e].front());
  }
  return expert_to_rank;
}

void run_run(const RunArgs& args) {
  auto model = load_model(args.model_dir);
  const bool fp8_weights = apply_weights_flag(args.weights, *model);
  auto tokenizer = load_tokenizer_for_model(args.model_dir);
  GenerationRequest request;
  // Checked on the text: with the template's BOS an empty prompt would still encode to one id.
  if (args.prompt.empty()) fail_input("--prompt is empty: give some text to run");
  const int64_t context = model->config.max_position_embeddings;
  // Measured before it is tokenized: tokenizing a text far too long for the context costs seconds
  // and gigabytes only to be refused afterwards (core/text_capacity.h).
  const TextCapacity capacity(*tokenizer);
  if (args.prompt.size() > capacity.max_text_bytes(context)) {
    fail_input("the prompt is " + std::to_string(args.prompt.size()) +
               " bytes, more than the model's max_position_embeddings of " + std::to_string(context) +
               " tokens can hold with this tokenizer (at most " +
               std::to_string(capacity.max_text_bytes(context)) + " bytes)");
  }
  request.prompt_ids = encode_user_text(*tokenizer, args.prompt, true, "the prompt");
  const auto prompt_tokens = static_cast<int64_t>(request.prompt_ids.size());
  if (prompt_tokens > context)
    fail_input("the prompt has " + std::to_string(prompt_tokens) +
               " tokens, more than the model's max_position_embeddings of " + std::to_string(context));
  // Checked before generating: past the context the run would fail at its last step, after all
  // the work, and be stored as failed with nothing.
  if (prompt_tokens + args.max_new_tokens > context)
    fail_input("the prompt has " + std::to_string(prompt_tokens) + " tokens; with --max-new-tokens " +
               std::to_string(args.max_new_tokens) + " that exceeds the model's max_position_embeddings of " +
               std::to_string(context) + " (at most " + std::to_string(context - prompt_tokens) +
               " new tokens fit)");
  request.max_new_tokens = args.max_new_tokens;
  request.sampling = {args.temperature, args.top_p, args.seed};
  if (auto eos = tokenizer->eos_id()) request.stop_token = *eos;

  EngineOptions options;
  options.backend = parse_backend(args.backend);
  options.memory_cap_bytes = args.gpu_memory_cap;
  options.fp8_weights = fp8_weights;
  apply_offload_flags(args.offload, options);
  options.n_threads = args.threads;
  options.enforce_capacity_factor = args.enforce_capacity;
  options.ep_degree = args.ep_degree;
  options.ep_interconnect = args.interconnect;
  if (!args.placement_file.empty()) options.expert_to_rank = expert_to_rank_from(args, model->config);
  options.max_context = prompt_tokens + args.max_new_tokens;
  auto engine = create_engine(*model, options);

  std::unique_ptr<sessions::SessionWriter> writer;
  ExpertHitCounter counter;
  ObserverFanout fanout;
  fanout.targets.push_back(&counter);
  if (!args.no_record) {
    const std::filesystem::path db = args.db.empty() ? sessions::default_session_path() : std::filesystem::path(args.db);
    if (args.db.empty()) std::filesystem::create_directories(db.parent_path());
    sessions::RecorderOptions recorder_options;
    recorder_options.store_router_logits = args.store_router_logits;
    writer = std::make_unique<sessions::SessionWriter>(db, "run", recorder_options);
    sessions::RunInfo info = sessions::run_info_for(*engine, writer->add_model(sessions::describe_model(*model)));
    info.prompt_text = args.prompt;
    info.tag = args.tag;
    nlohmann::json settings{{"max_new_tokens", args.max_new_tokens},
                                        {"temperature", args.temperature},
                                        {"top_p", args.top_p},
                                        {"seed", args.seed},
                                        {"enforce_capacity_factor", args.enforce_capacity},
                                        {"ep_degree", args.ep_degree},
                                        {"placement", args.placement_file},
                                        {"interconnect", args.interconnect},
                                        {"weights", args.weights}};
    add_offload_settings(*engine, options, settings);
    info.settings_json = settings.dump();
    writer->begin_run(info);
    fanout.targets.push_back(&writer->observer());
  }
  engine->set_observer(&fanout);
  GenerationResult result;
  // Pieces decode differently alone than in context (a leading "▁" is dropped at the start of a
  // text), so the continuation is decoded whole and only its new suffix printed.
  std::vector<int32_t> continuation;
  std::string shown;
  try {
    result = generate(*engine, request, [&](const GeneratedToken& t) {
      if (t.is_prompt) return;
      continuation.push_back(t.id);
      const std::string text = tokenizer->decode(continuation);
      // A byte-fallback character split over pieces shows as U+FFFD until its last byte arrives.
      const bool incomplete = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
      if (!incomplete && text.size() > shown.size() && text.starts_with(shown)) {
        std::fputs(terminal_safe(std::string_view(text).substr(shown.size()), true).c_str(), stdout);
        std::fflush(stdout);
        shown = text;
      }
    });
  } catch (const std::exception& e) {
    engine->set_observer(nullptr);
    if (writer) writer->end_run({sessions::RunStatus::failed, e.what()});
    throw;
  }
  engine->set_observer(nullptr);
  const std::string text = tokenizer->decode(continuation);
  std::printf("%s\n",
              terminal_safe(text.starts_with(shown) ? text.c_str() + shown.size() : "", true).c_str());
  // stdout is buffered when piped, stderr is not: flushed first, so "recorded into" starts its own line.
  std::fflush(stdout);

  std::vector<double> kl;  // measured when the run is recorded
  if (writer) {
    kl = finish_recorded_generation(*writer, *model, options, *tokenizer, result, prompt_tokens);
    writer->flush();
    std::fprintf(stderr, "recorded into %s\n", terminal_safe(writer->path().string()).c_str());
  }
  print_expert_table(counter, model->config.top_k);
  if (args.enforce_capacity > 0) print_capacity_cost(args.enforce_capacity, counter, kl);
}

void add_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a prompt, print the continuation and the most used experts, record it");
  cmd->add_option("--model", args->model_dir, "Checkpoint folder")->required();
  cmd->add_option("--prompt", args->prompt, "Prompt text")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Tokens to generate")
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
  add_weights_flag(*cmd, args->weights);
  add_offload_flags(*cmd, args->offload);
  cmd->add_option("--db", args->db, "Session file to record into (default: the user's session file)");
  cmd->add_option("--tag", args->tag, "Prompt tag: code, verse, maths, prose, multilingual, ...")->capture_default_str();
  cmd->add_flag("--no-record", args->no_record, "Do not record the run");
  cmd->add_flag("--router-logits", args->store_router_logits, "Also store the gate's raw logits (replay needs them)");
  cmd->add_option("--enforce-capacity", args->enforce_capacity,
                  "Drop assignments beyond capacity factor C in the forward pass (0 = dropless)")
      ->check(finite_number_in(0.0, 1e6));
  cmd->add_option("--ep-degree", args->ep_degree, "Emulated expert-parallel ranks (contiguous placement unless --placement)")
      ->capture_default_str()
      ->check(integer_in(1, 1024));
  cmd->add_option("--placement", args->placement_file, "Expert -> rank placement file (moescope placement --out)");
  cmd->add_option("--interconnect", args->interconnect, "Modelled fabric for EP traffic: nvlink4, pcie5, ib400")
      ->capture_default_str();
  cmd->callback([args] { run_run(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(run, add_run);

}  // namespace moescope
