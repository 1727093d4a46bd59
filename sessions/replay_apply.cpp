#include "sessions/replay_apply.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/analysis/divergence.h"
#include "core/engine_factory.h"
#include "core/error.h"
#include "core/model.h"
#include "core/sampling.h"
#include "core/teacher_forcing.h"
#include "sessions/reader.h"
#include "sessions/recorder.h"

namespace moescope {

namespace replay_apply_detail {

// A session row holds up to 8 experts per token.
constexpr int32_t kMaxRecordedExperts = 8;

// Expert choice's routing has one slot per expert (most empty): this forwards the engine's events
// to the recorder with each token's experts in the first `kept` slots, empty slots after them, and
// refuses a token that more than `kept` experts took. The refusal is thrown inside the engine's
// forward pass, before the recorder sees that layer; apply_replay then drops the whole run.
class SlotCompactingObserver final : public ForwardObserver {
 public:
  SlotCompactingObserver(ForwardObserver& inner, int32_t kept) : inner_(inner), kept_(kept) {}

  bool refused() const { return refused_; }

  void on_step_begin(const StepInfo& info) override { inner_.on_step_begin(info); }
  void on_timing(const PhaseTiming& timing) override { inner_.on_timing(timing); }
  void on_all_to_all(const AllToAllEvent& event) override { inner_.on_all_to_all(event); }
  void on_offload(const OffloadEvent& event) override { inner_.on_offload(event); }
  void on_step_end(const StepInfo& info, std::span<const float> logits) override { inner_.on_step_end(info, logits); }

  void on_routing(const RoutingEvent& event) override {
    if (event.top_k <= kept_) {
      inner_.on_routing(event);
      return;
    }
    const auto width = static_cast<size_t>(event.top_k);
    const auto kept = static_cast<size_t>(kept_);
    const auto n = static_cast<size_t>(event.n_tokens);
    ids_.assign(n * kept, routing_policies::kEmptySlot);
    weights_.assign(n * kept, 0.0f);
    dropped_.assign(event.dropped.empty() ? 0 : n * kept, 0);
    for (size_t t = 0; t < n; ++t) {
      size_t used = 0;
      for (size_t j = 0; j < width; ++j) {
        const size_t from = t * width + j;
        if (event.topk_ids[from] == routing_policies::kEmptySlot) continue;
        if (used == kept) {
          const auto taken = std::count_if(event.topk_ids.begin() + static_cast<ptrdiff_t>(t * width),
                                           event.topk_ids.begin() + static_cast<ptrdiff_t>((t + 1) * width),
                                           [](int32_t e) { return e != routing_policies::kEmptySlot; });
          refused_ = true;
          fail_input("replay --apply: at layer " + std::to_string(event.layer) + ", position " +
                     std::to_string(event.first_position + static_cast<int64_t>(t)) + " was taken by " +
                     std::to_string(taken) + " experts, more than the " + std::to_string(kept_) +
                     " a session row holds; nothing was recorded (a lower --capacity gives fewer)");
        }
        ids_[t * kept + used] = event.topk_ids[from];
        weights_[t * kept + used] = event.topk_weights[from];
        if (!dropped_.empty()) dropped_[t * kept + used] = event.dropped[from];
        ++used;
      }
    }
    RoutingEvent compacted = event;
    compacted.top_k = kept_;
    compacted.topk_ids = ids_;
    compacted.topk_weights = weights_;
    compacted.dropped = dropped_;
    inner_.on_routing(compacted);
  }

 private:
  ForwardObserver& inner_;
  int32_t kept_;
  bool refused_ = false;
  std::vector<int32_t> ids_;      // (n_tokens, kept)
  std::vector<float> weights_;    // (n_tokens, kept)
  std::vector<uint8_t> dropped_;  // (n_tokens, kept) or empty
};

bool is_expert_choice(const routing_policies::PolicyRunner& runner) {
  return runner.options().kind == routing_policies::PolicyKind::expert_choice;
}

}  // namespace replay_apply_detail

using replay_apply_detail::is_expert_choice;
using replay_apply_detail::kMaxRecordedExperts;

ModelConfig recorded_config(sessions::SessionReader& reader, const sessions::RunSummary& run) {
  auto query = reader.connection().prepare("SELECT config_json FROM models WHERE id = ?");
  query.bind(1, run.model_id);
  if (!query.step())
    fail_input(reader.path().string() + ": run " + std::to_string(run.id) + " names no stored model");
  return parse_model_config(query.column_text(0),
                            reader.path().string() + " (run " + std::to_string(run.id) + "'s config)");
}

void check_can_apply(const routing_policies::PolicyRunner& runner) {
  // Expert choice's width is every expert, most slots empty: its tokens are checked as they run.
  if (!is_expert_choice(runner) && runner.width() > kMaxRecordedExperts)
    fail_input("--apply records at most " + std::to_string(kMaxRecordedExperts) + " experts per token; --k " +
               std::to_string(runner.width()) + " is more");
}

ApplyResult apply_replay(const std::filesystem::path& db, int64_t run_id,
                         const std::filesystem::path& model_dir,
                         const routing_policies::PolicyOptions& policy,
                         const std::string& policy_settings_json) {
  std::vector<sessions::TokenRecord> tokens;
  sessions::RunSummary run;
  {
    sessions::SessionReader reader(db);
    run = reader.run(run_id);
    tokens = reader.tokens(run_id);
  }
  if (tokens.empty())
    fail_input("run " + std::to_string(run_id) + " in " + db.string() + " has no tokens to replay");
  std::vector<int32_t> ids;
  int64_t n_prompt = 0;
  for (const auto& t : tokens) {
    ids.push_back(t.token_id);
    n_prompt += t.is_prompt ? 1 : 0;
  }
  auto model = load_model(model_dir);
  routing_policies::PolicyRunner runner(model->config, policy, routing_policies::correction_biases(*model));
  check_can_apply(runner);

  EngineOptions options;
  options.max_context = static_cast<int64_t>(ids.size());
  // The reference is the run as recorded, so its capacity enforcement (if any) is redone.
  const auto settings = nlohmann::json::parse(run.settings_json, nullptr, false);
  if (settings.is_object() && settings.contains("enforce_capacity_factor") &&
      settings["enforce_capacity_factor"].is_number())
    options.enforce_capacity_factor = settings["enforce_capacity_factor"].get<double>();
  const std::vector<float> recorded = teacher_forced_logits(*create_engine(*model, options), ids, n_prompt);

  EngineOptions forced_options;
  forced_options.max_context = options.max_context;
  forced_options.routing_override = &runner;
  auto engine = create_engine(*model, forced_options);
  ApplyResult result;
  // The forced run keeps its own router logits: replays and the Routing lab can start from it too,
  // and a policy's stored choice can be checked against them.
  sessions::RecorderOptions recorder_options;
  recorder_options.store_router_logits = true;
  auto writer = std::make_unique<sessions::SessionWriter>(db, "replay", recorder_options);
  sessions::RunInfo info = sessions::run_info_for(*engine, writer->add_model(sessions::describe_model(*model)));
  info.prompt_text = run.prompt_text;
  info.tag = "replay:" + routing_policies::policy_name(policy.kind);
  info.top_k = std::min(runner.width(), kMaxRecordedExperts);
  info.empty_slots = is_expert_choice(runner);
  info.settings_json = policy_settings_json;
  result.run_id = writer->begin_run(info);
  replay_apply_detail::SlotCompactingObserver compacting(writer->observer(), info.top_k);
  engine->set_observer(&compacting);
  std::vector<float> replayed;
  try {
    replayed = teacher_forced_logits(*engine, ids, n_prompt);
  } catch (const std::exception& e) {
    engine->set_observer(nullptr);
    // A routing the session cannot hold leaves no run behind (the writer rolls back a run never
    // ended); any other failure is recorded as a failed run.
    if (!compacting.refused()) writer->end_run({sessions::RunStatus::failed, e.what()});
    writer.reset();
    throw;
  }
  engine->set_observer(nullptr);

  const size_t vocab = static_cast<size_t>(model->config.vocab_size);
  std::vector<sessions::TokenRecord> records;
  for (size_t p = 0; p < ids.size(); ++p) {
    const auto row_recorded = std::span(recorded).subspan(p * vocab, vocab);
    const auto row_replayed = std::span(replayed).subspan(p * vocab, vocab);
    result.kl.push_back(analysis::next_token_kl(row_recorded, row_replayed));
    sessions::TokenRecord r = tokens[p];
    r.kl_to_dropless = result.kl.back();  // for a replay run: KL(recorded run || this run)
    r.logprob = std::nullopt;
    if (p > 0) {
      r.logprob = token_logprob(std::span(replayed).subspan((p - 1) * vocab, vocab), ids[p]);
      if (static_cast<int64_t>(p) < n_prompt) {
        result.prompt_loglik_replayed += *r.logprob;
        result.prompt_loglik_recorded +=
            token_logprob(std::span(recorded).subspan((p - 1) * vocab, vocab), ids[p]);
      }
    }
    records.push_back(std::move(r));
  }
  writer->add_tokens(records);
  writer->end_run({sessions::RunStatus::complete, ""});
  writer->flush();
  return result;
}

}  // namespace moescope
