// Focus: the bundled demo model really specialises. The code and verse prompt sets are recorded with
// `moescope record` through the same loading path as any downloaded checkpoint; per layer, the
// Jensen-Shannon divergence between the two tags' expert loads must beat random splits of the same
// prompts (permutation test, p < 0.01) in at least half of the layers.
#include <gtest/gtest.h>

#include "core/analysis/divergence.h"
#include "sessions/reader.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

TEST(DemoModel, CodeAndVerseRouteDifferentlyBeyondRandomSplits) {
  const auto dir = test::scratch_dir("demo-specialisation");
  const auto db = dir / "demo.moescope";
  const auto model = test::source_dir() / "assets" / "models" / "demo-moe";
  for (const char* set : {"code", "verse"}) {
    auto r = test::run_command(test::moescope_binary().string() + " record --model " + model.string() + " --prompts " +
                               (test::source_dir() / "assets" / "prompts" / (std::string(set) + ".jsonl")).string() +
                               " --db " + db.string() + " --max-new-tokens 0");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  sessions::SessionReader reader(db);
  auto loads_of = [&](const std::string& tag) {
    std::vector<std::vector<double>> loads;
    for (int64_t run : reader.runs_with_tag(tag)) loads.push_back(analysis::run_loads(reader.routing(run, {false, false})));
    return loads;
  };
  const auto code = loads_of("code"), verse = loads_of("verse");
  ASSERT_GE(code.size(), 20u);
  ASSERT_GE(verse.size(), 20u);
  const auto summary = reader.run(reader.runs_with_tag("code").front());
  const int32_t n_layers = static_cast<int32_t>(summary.moe_layers.size());
  const int32_t n_experts = summary.n_experts;

  int significant_layers = 0;
  for (int32_t layer = 0; layer < n_layers; ++layer) {
    auto slice = [&](const std::vector<std::vector<double>>& group) {
      std::vector<std::vector<double>> out;
      for (const auto& loads : group) out.emplace_back(loads.begin() + layer * n_experts, loads.begin() + (layer + 1) * n_experts);
      return out;
    };
    const auto test_result = analysis::jsd_permutation_test(slice(code), slice(verse), 1, n_experts, 999, 7);
    std::printf("layer %d: JSD %.4f bits, p = %.4f\n", summary.moe_layers[layer], test_result.observed, test_result.p_value);
    significant_layers += test_result.p_value < 0.01;
  }
  EXPECT_GE(2 * significant_layers, n_layers);
}

}  // namespace
}  // namespace moescope
