// `moescope compare`: how routing differs between two prompt tags (pooled runs, Jensen-Shannon
// divergence per layer with a permutation test, and the experts that prefer one tag) or between two
// runs (the same JSD and expert preferences, each run one side, and top-k agreement when both runs
// cover the same tokens).
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/verb_registry.h"
#include "core/analysis/divergence.h"
#include "core/analysis/tag_analysis.h"
#include "core/analysis/token_routing.h"
#include "core/error.h"
#include "core/terminal_text.h"
#include "sessions/default_path.h"
#include "sessions/reader.h"

namespace moescope {
namespace {

struct CompareArgs {
  std::string db;
  std::string tags;
  std::string runs;
  bool json = false;
  int32_t permutations = 1000;
  int64_t min_support = 20;  // assignments (both sides together) before an expert's lift is listed
};

std::vector<std::string> split_pair(const std::string& text, const char* option) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) parts.push_back(part);
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    fail_input(std::string(option) + " expects two comma-separated values, got '" + text + "'");
  }
  return parts;
}

nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
}

// The experts whose load differs most between the two sides of `loads` in one layer (chi-square p,
// at most three), each with its lift and preferred side; an expert with fewer than `min_support`
// assignments on both sides together is not listed (a lift over a handful of them is noise: 3 of 4
// tokens looks like x1.5). The same for two tags and two runs.
nlohmann::json most_specific_experts(const analysis::TagLoads& loads, int32_t layer, int64_t min_support) {
  const size_t per_side = static_cast<size_t>(loads.n_layers) * static_cast<size_t>(loads.n_experts);
  auto preferences = analysis::expert_tag_preference(loads, layer);
  std::sort(preferences.begin(), preferences.end(), [](const auto& x, const auto& y) { return x.p_value < y.p_value; });
  nlohmann::json experts = nlohmann::json::array();
  for (size_t i = 0; i < preferences.size() && experts.size() < 3; ++i) {
    const auto& p = preferences[i];
    if (p.preferred_tag < 0) continue;
    double support = 0;
    for (size_t t = 0; t < loads.tags.size(); ++t)
      support += loads.load[t * per_side + static_cast<size_t>(layer) * static_cast<size_t>(loads.n_experts) +
                            static_cast<size_t>(p.expert)];
    if (support < static_cast<double>(min_support)) continue;
    experts.push_back({{"expert", p.expert},
                       {"prefers", loads.tags[static_cast<size_t>(p.preferred_tag)]},
                       {"lift", p.lift},
                       {"p_value", p.p_value}});
  }
  return experts;
}

void print_specific_experts(const nlohmann::json& experts) {
  for (const auto& e : experts) {
    std::printf("  e%d %s x%.2f p=%.2g", e["expert"].get<int>(), terminal_safe(e["prefers"].get<std::string>()).c_str(),
                e["lift"].get<double>(), e["p_value"].get<double>());
  }
}

// --runs A,B as two different run ids. A run against itself has no second side: every statistic
// would be 0 or 0/0, as for a tag against itself.
std::array<int64_t, 2> parse_run_pair(const std::string& runs) {
  const auto ids = split_pair(runs, "--runs");
  std::array<int64_t, 2> run_ids{};
  for (size_t i = 0; i < 2; ++i) {
    // Whole decimal text, at least 1: stoll took "3abc" as 3, and 0 or -1 named no run.
    const std::string& text = ids[i];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), run_ids[i], 10);
    if (error != std::errc() || end != text.data() + text.size() || run_ids[i] < 1)
      fail_input("--runs expects two run ids (integers of at least 1), got '" + text + "'");
  }
  if (run_ids[0] == run_ids[1])
    fail_input("--runs needs two different runs, got run " + std::to_string(run_ids[0]) + " twice");
  return run_ids;
}

void compare_runs(sessions::SessionReader& reader, const CompareArgs& args) {
  const std::array<int64_t, 2> run_ids = parse_run_pair(args.runs);
  const std::string ids[2] = {std::to_string(run_ids[0]), std::to_string(run_ids[1])};
  analysis::RoutingArrays a = reader.routing(run_ids[0], {.scores = false});
  analysis::RoutingArrays b = reader.routing(run_ids[1], {.scores = false});
  if (a.layer_ids != b.layer_ids || a.n_experts != b.n_experts) {
    fail_input("runs " + ids[0] + " and " + ids[1] +
               " come from models with different MoE layers or expert counts");
  }
  auto jsd = analysis::js_divergence_per_layer(analysis::run_loads(a), analysis::run_loads(b), a.n_layers,
                                               a.n_experts);
  std::vector<double> agreement;
  bool same_tokens = a.n_tokens == b.n_tokens && a.token_ids == b.token_ids && a.top_k == b.top_k;
  if (same_tokens) agreement = analysis::router_agreement(a, b);
  // The expert statistics of a tag comparison, each run one side.
  const std::string side[2] = {"run " + ids[0], "run " + ids[1]};
  const analysis::TaggedRouting sides[2] = {{side[0], &a}, {side[1], &b}};
  const analysis::TagLoads loads = analysis::tag_loads(sides);

  nlohmann::json layers = nlohmann::json::array();
  for (int32_t l = 0; l < a.n_layers; ++l) {
    nlohmann::json row = {{"layer", a.layer_ids[l]},
                          {"jsd_bits", number_or_null(jsd[l])},
                          {"most_run_specific_experts", most_specific_experts(loads, l, args.min_support)}};
    if (same_tokens) row["topk_agreement"] = agreement[l];
    layers.push_back(std::move(row));
  }
  if (args.json) {
    const nlohmann::json out = {{"runs", {run_ids[0], run_ids[1]}},
                                {"tokens", loads.tokens},
                                {"min_support", args.min_support},
                                // Over runs: one run per side has no split to permute.
                                {"permutation_test", nullptr},
                                {"layers", layers}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("run %lld (%lld tokens) vs run %lld (%lld tokens): Jensen-Shannon divergence of expert loads per layer "
              "(bits, 0 = same)%s\n",
              static_cast<long long>(run_ids[0]), static_cast<long long>(loads.tokens[0]),
              static_cast<long long>(run_ids[1]), static_cast<long long>(loads.tokens[1]),
              same_tokens ? ", the share of top-k experts both runs chose per token" : "");
  std::printf("(a permutation test needs at least 2 runs per side: compare tags for one)\n");
  std::printf("\n%5s %9s%s  most run-specific experts with >= %lld assignments (preferred run, lift, chi-square p)\n",
              "layer", "JSD", same_tokens ? "  agreement" : "", static_cast<long long>(args.min_support));
  for (const auto& layer : layers) {
    std::printf("%5d %9.4f", layer["layer"].get<int>(),
                layer["jsd_bits"].is_null() ? NAN : layer["jsd_bits"].get<double>());
    if (same_tokens) std::printf("  %9.3f", layer["topk_agreement"].get<double>());
    print_specific_experts(layer["most_run_specific_experts"]);
    std::printf("\n");
  }
}

void compare_tags(sessions::SessionReader& reader, const CompareArgs& args) {
  auto tags = split_pair(args.tags, "--tags");
  std::vector<analysis::RoutingArrays> arrays;
  std::vector<std::string> tag_of;
  for (const std::string& tag : tags) {
    auto ids = reader.runs_with_tag(tag);
    if (ids.empty()) fail_input(reader.path().string() + ": no complete runs tagged '" + tag + "'");
    for (int64_t id : ids) {
      arrays.push_back(reader.routing(id, {.scores = false}));
      tag_of.push_back(tag);
    }
  }
  std::vector<analysis::TaggedRouting> tagged;
  std::vector<std::vector<double>> group[2];
  for (size_t i = 0; i < arrays.size(); ++i) {
    tagged.push_back({tag_of[i], &arrays[i]});
    group[tag_of[i] == tags[0] ? 0 : 1].push_back(analysis::run_loads(arrays[i]));
  }
  analysis::TagLoads loads = analysis::tag_loads(tagged);
  const int32_t n_layers = loads.n_layers;
  const int32_t n_experts = loads.n_experts;
  const size_t per_tag = static_cast<size_t>(n_layers) * static_cast<size_t>(n_experts);
  auto jsd =
      analysis::js_divergence_per_layer(std::span(loads.load).subspan(0, per_tag),
                                        std::span(loads.load).subspan(per_tag, per_tag), n_layers, n_experts);
  std::optional<analysis::PermutationTest> test;
  if (group[0].size() >= 2 && group[1].size() >= 2) {
    test = analysis::jsd_permutation_test(group[0], group[1], n_layers, n_experts, args.permutations);
  }
  const std::vector<int32_t>& layer_ids = arrays.front().layer_ids;

  nlohmann::json layers = nlohmann::json::array();
  for (int32_t l = 0; l < n_layers; ++l) {
    const nlohmann::json experts = most_specific_experts(loads, l, args.min_support);
    layers.push_back({{"layer", layer_ids[static_cast<size_t>(l)]},
                      {"jsd_bits", number_or_null(jsd[l])},
                      {"most_tag_specific_experts", experts}});
  }
  if (args.json) {
    nlohmann::json out = {{"tags", tags},
                          {"runs", {group[0].size(), group[1].size()}},
                          {"tokens", loads.tokens},
                          {"min_support", args.min_support},
                          {"layers", layers}};
    if (test)
      out["permutation_test"] = {{"mean_jsd_bits", test->observed},
                                 {"p_value", test->p_value},
                                 {"permutations", test->n_permutations}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("'%s' (%zu runs, %lld tokens) vs '%s' (%zu runs, %lld tokens)\n",
              terminal_safe(tags[0]).c_str(), group[0].size(), static_cast<long long>(loads.tokens[0]),
              terminal_safe(tags[1]).c_str(), group[1].size(), static_cast<long long>(loads.tokens[1]));
  if (test) {
    std::printf("mean JSD %.4f bits; permutation test over %d random splits of the runs: p = %.4f\n",
                test->observed, test->n_permutations, test->p_value);
  } else {
    std::printf("(a permutation test needs at least 2 runs per tag)\n");
  }
  std::printf("\n%5s %9s  most tag-specific experts with >= %lld assignments (preferred tag, lift, chi-square p)\n", "layer",
              "JSD", static_cast<long long>(args.min_support));
  for (const auto& layer : layers) {
    std::printf("%5d %9.4f ", layer["layer"].get<int>(),
                layer["jsd_bits"].is_null() ? NAN : layer["jsd_bits"].get<double>());
    print_specific_experts(layer["most_tag_specific_experts"]);
    std::printf("\n");
  }
}

void add_compare(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare", "Compare routing between two prompt tags or two runs");
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  auto* tags = cmd->add_option("--tags", args->tags, "Two tags, e.g. code,verse");
  auto* runs = cmd->add_option("--runs", args->runs, "Two run ids, e.g. 3,7");
  tags->excludes(runs);
  cmd->add_option("--permutations", args->permutations, "Random splits for the tag permutation test")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--min-support", args->min_support,
                  "Assignments an expert needs (both tags or runs together) before its lift is listed")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->callback([args] {
    if (args->tags.empty() == args->runs.empty()) fail_input("compare needs either --tags A,B or --runs A,B");
    if (!args->tags.empty()) {
      // One tag against itself has no second group: every statistic would be 0/0 (it printed NaN).
      const auto tags = split_pair(args->tags, "--tags");
      if (tags[0] == tags[1]) fail_input("--tags needs two different tags, got '" + tags[0] + "' twice");
    } else {
      parse_run_pair(args->runs);  // refused before any session file is read, as for tags
    }
    std::filesystem::path db =
        args->db.empty() ? sessions::default_session_path() : std::filesystem::path(args->db);
    sessions::SessionReader reader(db);
    if (!args->runs.empty()) {
      compare_runs(reader, *args);
    } else {
      compare_tags(reader, *args);
    }
  });
}

}  // namespace

MOESCOPE_REGISTER_VERB(compare, add_compare);

}  // namespace moescope
