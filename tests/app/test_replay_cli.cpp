// Focus: `moescope replay` on the demo model's real routing. The code and verse prompt sets are
// recorded with the binary (--router-logits, a few generated tokens so decode steps exist) and
// every run is replayed under every policy; the binary's --json output is checked for the first
// run of each tag, --apply with the model's own rule gives KL 0, and a run without logits is refused
// naming --router-logits. Also: an enforced-capacity run's KL is 0 before its first dropped
// assignment (it is measured with the run's own drops).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/analysis/capacity.h"
#include "core/analysis/co_activation.h"
#include "core/analysis/layer_metrics.h"
#include "core/analysis/load_metrics.h"
#include "core/model_config.h"
#include "core/routing_policies/policies.h"
#include "core/routing_policies/replay.h"
#include "sessions/reader.h"
#include "tests/support/cli_checks.h"
#include "tests/support/sanitizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using routing_policies::PolicyKind;

const std::filesystem::path kReplayDemo = test::source_dir() / "assets" / "models" / "demo-moe";

// Records both prompt sets once for the whole file.
const std::filesystem::path& demo_db() {
  static const std::filesystem::path db = [] {
    const auto dir = test::scratch_dir("replay");
    const auto path = dir / "demo.moescope";
    for (const char* set : {"code", "verse"}) {
      const auto prompts = test::demo_prompt_set(set, dir);
      auto r = test::run_command(test::moescope_binary().string() +
                                 " record --router-logits --max-new-tokens 3 --model " + kReplayDemo.string() +
                                 " --prompts " + prompts.string() + " --db " + path.string());
      EXPECT_EQ(r.exit_code, 0) << r.output;
    }
    return path;
  }();
  return db;
}

nlohmann::json replay_json(int64_t run, const std::string& policy_and_options) {
  auto r =
      test::run_command(test::moescope_binary().string() + " replay --db " + demo_db().string() + " --run " +
                        std::to_string(run) + " --policy " + policy_and_options + " --json 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output, nullptr, false);
}

// The options each policy needs on the demo model (8 experts top-2, no expert groups of its own).
std::string with_options(PolicyKind kind) {
  const std::string name = routing_policies::policy_name(kind);
  if (kind == PolicyKind::group_limited) return name + " --groups 4 --topk-groups 2";
  if (kind == PolicyKind::capacity) return name + " --capacity 1";
  return name;
}

// The model's own rule replayed on a session's float16 logits may differ from the recorded routing
// (computed on float32 logits) only where the experts swapped are tied in float16: within one
// float16 step (2^-10 relative) of each other.
void expect_only_float16_ties(const analysis::RoutingArrays& a, int32_t layer,
                              const routing_policies::LayerReplay& r) {
  for (int32_t t = 0; t < a.n_tokens; ++t) {
    std::vector<int32_t> recorded(a.topk_ids.begin() + a.topk_offset(layer, t),
                                  a.topk_ids.begin() + a.topk_offset(layer, t) + a.top_k);
    std::vector<int32_t> replayed(r.ids.begin() + static_cast<size_t>(t) * r.width,
                                  r.ids.begin() + static_cast<size_t>(t + 1) * r.width);
    std::sort(recorded.begin(), recorded.end());
    std::sort(replayed.begin(), replayed.end());
    if (recorded == replayed) continue;
    const float* logits = a.router_logits.data() + a.score_offset(layer, t);
    std::vector<int32_t> lost, gained;
    std::set_difference(recorded.begin(), recorded.end(), replayed.begin(), replayed.end(),
                        std::back_inserter(lost));
    std::set_difference(replayed.begin(), replayed.end(), recorded.begin(), recorded.end(),
                        std::back_inserter(gained));
    for (int32_t e : lost)
      for (int32_t g : gained) {
        const float scale = std::max(std::fabs(logits[e]), std::fabs(logits[g]));
        EXPECT_LE(std::fabs(logits[e] - logits[g]), scale * 0x1.0p-10f)
            << "layer " << a.layer_ids[layer] << " token " << t << ": expert " << e << " swapped for " << g;
      }
  }
}

// 1. Every run of both sets under every policy, in process: each replay is well formed and the
// policies' defining properties hold on real routing; the model's rule differs from the recorded
// routing only at float16 ties.
TEST(ReplayCli, EveryDemoRunUnderEveryPolicy) {
  sessions::SessionReader reader(demo_db());
  const auto runs = reader.runs();
  ASSERT_GE(runs.size(), test::kSanitizerAllocator ? 8u : 40u);
  auto config_query = reader.connection().prepare("SELECT config_json FROM models LIMIT 1");
  ASSERT_TRUE(config_query.step());
  const ModelConfig config = parse_model_config(config_query.column_text(0), "demo config");
  for (const auto& name : routing_policies::policy_names()) {
    const PolicyKind kind = routing_policies::parse_policy(name);
    routing_policies::PolicyOptions options{.kind = kind};
    if (kind == PolicyKind::group_limited) options.groups = 4, options.topk_groups = 2;
    double topk_agreement_min = 1.0;
    for (const auto& run : runs) {
      SCOPED_TRACE(name + " run " + std::to_string(run.id));
      const auto arrays = reader.routing(run.id, {.scores = false, .router_logits = true});
      ASSERT_TRUE(arrays.has_router_logits());
      routing_policies::PolicyRunner runner(config, options);
      const auto layers = routing_policies::replay_run(arrays, runner);
      ASSERT_EQ(static_cast<int32_t>(layers.size()), arrays.n_layers);
      for (int32_t l = 0; l < arrays.n_layers; ++l) {
        const auto m = routing_policies::replay_metrics(arrays, l, layers[l]);
        EXPECT_GE(m.jaccard, 0.0);
        EXPECT_LE(m.jaccard, 1.0);
        if (kind == PolicyKind::topk) {
          topk_agreement_min = std::min(topk_agreement_min, m.jaccard);
          expect_only_float16_ties(arrays, l, layers[l]);
        }
        if (kind == PolicyKind::expert_choice) {
          EXPECT_NEAR(m.max_vio, 0.0, 1e-12);  // every expert full every step
        }
        if (kind == PolicyKind::hash || kind == PolicyKind::switch_top1 ||
            kind == PolicyKind::balanced_assignment) {
          EXPECT_EQ(m.assignments, arrays.n_tokens);
        }
        if (kind != PolicyKind::capacity) {
          EXPECT_EQ(m.dropped, 0);
        }
      }
    }
    // Sessions store logits as float16, so near ties can flip; they are rare.
    if (kind == PolicyKind::topk) {
      EXPECT_GE(topk_agreement_min, 0.95);
    }
  }
}

// 2. The binary's --json for the first code and verse runs under every policy.
TEST(ReplayCli, JsonUnderEveryPolicy) {
  sessions::SessionReader reader(demo_db());
  for (const std::string tag : {"code", "verse"}) {
    const int64_t run = reader.runs_with_tag(tag).front();
    const auto recorded = reader.routing(run, {.scores = false, .router_logits = false});
    for (const auto& name : routing_policies::policy_names()) {
      SCOPED_TRACE(tag + " " + name);
      const auto out = replay_json(run, with_options(routing_policies::parse_policy(name)));
      ASSERT_TRUE(out.is_object());
      EXPECT_EQ(out["policy"], name);
      ASSERT_EQ(out["layers"].size(), static_cast<size_t>(recorded.n_layers));
      for (const auto& layer : out["layers"])
        for (const char* key : {"layer", "max_vio", "cv", "drop_rate", "top1_agreement", "jaccard"})
          EXPECT_TRUE(layer.contains(key)) << key;
      if (name == "topk") {
        for (const auto& layer : out["layers"]) {
          EXPECT_EQ(layer["top1_agreement"], 1.0);
          EXPECT_EQ(layer["jaccard"], 1.0);
        }
      }
      if (name == "balanced-assignment" || name == "expert-choice") {
        // Balancing policies balance: never worse than the routing the model had.
        for (int32_t l = 0; l < recorded.n_layers; ++l)
          EXPECT_LE(out["layers"][l]["max_vio"].get<double>(),
                    analysis::max_vio(analysis::expert_load(recorded, l)) + 1e-12);
      }
    }
  }
  const auto dropping = replay_json(reader.runs_with_tag("code").front(), "capacity --capacity 0.5");
  double drop_rate = 0;
  for (const auto& layer : dropping["layers"]) drop_rate += layer["drop_rate"].get<double>();
  EXPECT_GT(drop_rate, 0.0);
}

// 3. --apply with the model's own rule forces exactly the routing the model would pick: KL 0 at
// every token, the same prompt log-likelihood, and a new run tagged replay:topk whose routing is
// the original's. A Switch routing changes the output.
TEST(ReplayCli, ApplyTopkDefaultsGivesKlZero) {
  sessions::SessionReader reader(demo_db());
  const int64_t run = reader.runs_with_tag("verse").front();
  auto r = test::run_command(test::moescope_binary().string() + " replay --apply --json --db " +
                             demo_db().string() + " --run " + std::to_string(run) + " --policy topk 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = nlohmann::json::parse(r.output);
  EXPECT_EQ(out["applied"]["kl_max"], 0.0);
  EXPECT_EQ(out["applied"]["prompt_loglik_change"], 0.0);
  const int64_t applied = out["applied"]["run"];
  sessions::SessionReader after(demo_db());
  EXPECT_EQ(after.run(applied).tag, "replay:topk");
  const auto original = after.routing(run, {.scores = false, .router_logits = false});
  const auto replayed = after.routing(applied, {.scores = false, .router_logits = false});
  // The replay also runs the last generated token, which the original run never fed back.
  ASSERT_EQ(replayed.n_tokens, original.n_tokens + 1);
  for (int32_t l = 0; l < original.n_layers; ++l)
    for (int32_t t = 0; t < original.n_tokens; ++t)
      for (int32_t j = 0; j < original.top_k; ++j)
        ASSERT_EQ(replayed.topk_ids[replayed.topk_offset(l, t) + j],
                  original.topk_ids[original.topk_offset(l, t) + j]);

  r = test::run_command(test::moescope_binary().string() + " replay --apply --json --db " +
                        demo_db().string() + " --run " + std::to_string(run) + " --policy switch 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto switched = nlohmann::json::parse(r.output);
  EXPECT_GT(switched["applied"]["kl_max"].get<double>(), 0.0);
  EXPECT_NE(switched["applied"]["prompt_loglik_change"].get<double>(), 0.0);
}

// 4. Refusals, each one clear line: no stored logits, an unknown policy.
TEST(ReplayCli, ClearErrors) {
  const auto db = test::scratch_dir("replay-errors") / "plain.moescope";
  auto r = test::run_command(test::moescope_binary().string() + " run --model " + kReplayDemo.string() +
                             " --prompt 'int main' --max-new-tokens 1 --db " + db.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::expect_one_clear_line(test::run_command(test::moescope_binary().string() + " replay --db " +
                                                db.string() + " --run 1 --policy topk 2>&1"),
                              "--router-logits");
  test::expect_one_clear_line(test::run_command(test::moescope_binary().string() + " replay --db " +
                                                demo_db().string() + " --run 1 --policy top-k 2>&1"),
                              "expert-choice");
}

// Expert choice gives each token 0..8 experts on the demo model (8 experts, top-2): the applied run
// is recorded with empty slots (NULL in the row, kNoExpert in the arrays). Each expert holds exactly
// its capacity of every step and layer, the stored assignments are expert choice's on the run's
// own stored router logits, and the analyses, report, compare and exports read the run.
TEST(ReplayCli, ApplyExpertChoiceIsRecordedWithEmptySlots) {
  auto r = test::run_command(test::moescope_binary().string() + " replay --apply --json --db " +
                             demo_db().string() + " --run 1 --policy expert-choice 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto applied = nlohmann::json::parse(r.output)["applied"];
  EXPECT_EQ(applied["recorded"], true);
  const int64_t run = applied["run"].get<int64_t>();
  EXPECT_GT(applied["kl_max"].get<double>(), 0.0) << "expert choice is not the model's own routing";

  sessions::SessionReader reader(demo_db());
  const sessions::RunSummary summary = reader.run(run);
  EXPECT_EQ(summary.tag, "replay:expert-choice");
  EXPECT_TRUE(summary.empty_slots);
  const auto arrays = reader.routing(run, {.scores = false, .router_logits = true});
  ASSERT_EQ(arrays.top_k, 8);
  ASSERT_TRUE(arrays.has_router_logits());
  EXPECT_GT(std::count(arrays.topk_ids.begin(), arrays.topk_ids.end(), analysis::kNoExpert), 0);
  EXPECT_EQ(reader.connection().query_int("SELECT count(*) FROM routing WHERE run_id = " + std::to_string(run) +
                                          " AND expert_7 IS NULL AND weight_7 IS NULL"),
            reader.connection().query_int("SELECT count(*) FROM routing WHERE run_id = " + std::to_string(run) +
                                          " AND expert_7 IS NULL"));

  const int32_t E = arrays.n_experts, W = arrays.top_k;
  int64_t steps_checked = 0;
  for (int32_t l = 0; l < arrays.n_layers; ++l) {
    for (int32_t begin = 0; begin < arrays.n_tokens;) {
      int32_t end = begin;
      while (end < arrays.n_tokens && arrays.step_of_token[end] == arrays.step_of_token[begin]) ++end;
      const int32_t T = end - begin;
      // The policy on the stored logits of this step and layer (k = the model's top_k, C = 1).
      std::vector<int32_t> ids(static_cast<size_t>(T) * E);
      std::vector<float> weights(ids.size());
      std::vector<uint8_t> dropped(ids.size());
      routing_policies::route_expert_choice(
          2, 1.0,
          {std::span(arrays.router_logits).subspan(arrays.score_offset(l, begin), static_cast<size_t>(T) * E), T, E,
           begin, {}, arrays.layer_ids[l]},
          {E, ids, weights, dropped});
      const int64_t capacity = std::min<int64_t>(analysis::expert_capacity(1.0, T, 2, E), T);
      std::vector<int64_t> taken(static_cast<size_t>(E), 0);
      for (int32_t t = 0; t < T; ++t) {
        const int32_t* stored = arrays.topk_ids.data() + arrays.topk_offset(l, begin + t);
        for (int32_t j = 0; j < W; ++j) {
          ASSERT_EQ(stored[j], ids[static_cast<size_t>(t) * E + j])
              << "layer " << l << ", position " << begin + t << ", slot " << j;
          if (stored[j] != analysis::kNoExpert) ++taken[static_cast<size_t>(stored[j])];
        }
      }
      for (int32_t e = 0; e < E; ++e) EXPECT_EQ(taken[static_cast<size_t>(e)], capacity) << "layer " << l << ", expert " << e;
      ++steps_checked;
      begin = end;
    }
  }
  EXPECT_GT(steps_checked, 2);

  // Analyses over empty slots: loads count only the experts that took a token.
  const auto metrics = analysis::compute_run_metrics(arrays);
  ASSERT_EQ(metrics.layers.size(), static_cast<size_t>(arrays.n_layers));
  const auto hits = reader.expert_hits(run);
  for (int32_t l = 0; l < arrays.n_layers; ++l) {
    const auto load = analysis::expert_load(arrays, l);
    for (int32_t e = 0; e < E; ++e)
      EXPECT_EQ(load[static_cast<size_t>(e)], static_cast<double>(hits.hits[static_cast<size_t>(l) * E + e]));
    const auto co = analysis::co_activation(arrays, l);
    EXPECT_EQ(co.pair_count[0], hits.hits[static_cast<size_t>(l) * E]);  // expert 0 with itself: its tokens
    EXPECT_TRUE(std::isfinite(metrics.layers[static_cast<size_t>(l)].cv));
  }
  // A second expert-choice run to compare with (compare refuses runs of different top_k).
  r = test::run_command(test::moescope_binary().string() + " replay --apply --json --db " + demo_db().string() +
                        " --run 2 --policy expert-choice 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const int64_t second = nlohmann::json::parse(r.output)["applied"]["run"].get<int64_t>();
  const std::string db = " --db " + demo_db().string();
  const std::string out_dir = test::scratch_dir("expert-choice-export").string();
  for (const std::string& command :
       {"report" + db + " --run " + std::to_string(run) + " --json", "compare" + db + " --runs " + std::to_string(run) + "," + std::to_string(second),
        "export" + db + " --run " + std::to_string(run) + " --format csv --out " + out_dir + "/csv",
        "export" + db + " --run " + std::to_string(run) + " --format json --out " + out_dir + "/run.json"}) {
    auto c = test::run_command(test::moescope_binary().string() + " " + command + " 2>&1");
    EXPECT_EQ(c.exit_code, 0) << command << "\n" << c.output;
  }
}

// A token that more than 8 experts take (16 experts, where a one-token decode step gives every
// expert that token) cannot be a session row: one clear line names the layer, position and count,
// and no run is recorded.
TEST(ReplayCli, ApplyExpertChoiceRefusesATokenTakenByMoreThanEightExperts) {
  const auto db = test::scratch_dir("expert-choice-16") / "qwen.moescope";
  const auto model = test::golden_model("qwen3-moe-tiny");
  auto r = test::run_command(test::moescope_binary().string() + " run --router-logits --model " + model.string() +
                             " --prompt 'int main' --max-new-tokens 2 --db " + db.string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto runs_before = sessions::SessionReader(db).runs().size();
  r = test::run_command(test::moescope_binary().string() + " replay --apply --json --db " + db.string() +
                        " --run 1 --policy expert-choice 2>&1");
  test::expect_one_clear_line(r, "experts, more than the 8 a session row holds");
  EXPECT_NE(r.output.find("at layer "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", position "), std::string::npos) << r.output;
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), runs_before);
  EXPECT_EQ(sessions::SessionReader(db).connection().query_int("SELECT count(*) FROM routing WHERE run_id > 1"), 0);
}

// 5. An enforced-capacity run's KL to dropless is measured with the run's own drops: exactly 0 at
// every position before the first dropped assignment, and positive somewhere after it.
TEST(ReplayCli, EnforcedCapacityKlIsZeroBeforeTheFirstDrop) {
  const auto db = test::scratch_dir("capacity-kl") / "capacity.moescope";
  auto r = test::run_command(test::moescope_binary().string() + " run --model " + kReplayDemo.string() +
                             " --prompt 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)' "
                             "--max-new-tokens 6 --enforce-capacity 1.0 --db " +
                             db.string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("capacity factor 1: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("KL to dropless mean"), std::string::npos) << r.output;
  sessions::SessionReader reader(db);
  auto first_drop =
      reader.connection().prepare("SELECT MIN(position) FROM routing WHERE run_id = 1 AND dropped_mask != 0");
  ASSERT_TRUE(first_drop.step());
  ASSERT_FALSE(first_drop.column_is_null(0)) << "capacity 1.0 dropped nothing on this prompt";
  const int64_t first = first_drop.column_int(0);
  ASSERT_GT(first, 0);
  double after = 0;
  for (const auto& token : reader.tokens(1)) {
    ASSERT_TRUE(token.kl_to_dropless.has_value());
    if (token.position < first)
      EXPECT_EQ(*token.kl_to_dropless, 0.0) << "position " << token.position;
    else
      after = std::max(after, *token.kl_to_dropless);
  }
  EXPECT_GT(after, 0.0);
}

}  // namespace
}  // namespace moescope
