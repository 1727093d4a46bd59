#include "sessions/replay_apply.h"

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

namespace {

// A session row holds up to 8 experts per token and no empty slots.
constexpr int32_t kMaxRecordedExperts = 8;

}  // namespace

ModelConfig recorded_config(sessions::SessionReader& reader, const sessions::RunSummary& run) {
  auto query = reader.connection().prepare("SELECT config_json FROM models WHERE id = ?");
  query.bind(1, run.model_id);
  if (!query.step())
    fail_input(reader.path().string() + ": run " + std::to_string(run.id) + " names no stored model");
  return parse_model_config(query.column_text(0),
                            reader.path().string() + " (run " + std::to_string(run.id) + "'s config)");
}

bool can_record_applied(const routing_policies::PolicyRunner& runner) {
  return runner.options().kind != routing_policies::PolicyKind::expert_choice;
}

void check_can_apply(const routing_policies::PolicyRunner& runner) {
  // Expert choice's width is every expert (most slots empty): it is run, not recorded.
  if (can_record_applied(runner) && runner.width() > kMaxRecordedExperts)
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
  std::unique_ptr<sessions::SessionWriter> writer;
  if (can_record_applied(runner)) {
    writer = std::make_unique<sessions::SessionWriter>(db, "replay");
    sessions::RunInfo info =
        sessions::run_info_for(*engine, writer->add_model(sessions::describe_model(*model)));
    info.prompt_text = run.prompt_text;
    info.tag = "replay:" + routing_policies::policy_name(policy.kind);
    info.top_k = runner.width();
    info.settings_json = policy_settings_json;
    result.run_id = writer->begin_run(info);
    engine->set_observer(&writer->observer());
  }
  std::vector<float> replayed;
  try {
    replayed = teacher_forced_logits(*engine, ids, n_prompt);
  } catch (const std::exception& e) {
    engine->set_observer(nullptr);
    if (writer) writer->end_run({sessions::RunStatus::failed, e.what()});
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
  if (writer) {
    writer->add_tokens(records);
    writer->end_run({sessions::RunStatus::complete, ""});
    writer->flush();
  }
  return result;
}

}  // namespace moescope
