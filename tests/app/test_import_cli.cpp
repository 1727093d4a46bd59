// Focus: `moescope import` as a user runs it. Each fixture format imports, and the imported
// session then works with report (which says what the capture lacked), compare and every export
// format; the golden models' transformers router logits imported with --from hf pick the same
// experts as `moescope forward` on the same token ids; damaged captures end in one clear line.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "sessions/reader.h"
#include "tests/support/cli_checks.h"
#include "tests/support/golden.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

std::string binary() { return test::moescope_binary().string(); }
fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/import" / name; }
std::string config_of(const std::string& model) { return (test::golden_model(model) / "config.json").string(); }

test::CommandResult import(const std::string& from, const fs::path& input, const std::string& model, const fs::path& db,
                           const std::string& extra = "") {
  return test::run_command(binary() + " import --from " + from + " " + input.string() + " --model-config " +
                           config_of(model) + " --db " + db.string() + " " + extra + " 2>&1");
}

struct FixtureCase {
  const char* from;
  const char* file;
  const char* model;
  size_t runs;
};

TEST(ImportCli, Case1_EachFixtureImportsAndThenReportsComparesAndExports) {
  const std::vector<FixtureCase> cases = {
      {"sglang", "sglang_mixtral.jsonl", "mixtral-tiny", 3},
      {"sglang", "sglang_deepseek_v3.json", "deepseek-v3-tiny", 2},
      {"vllm", "vllm_qwen3.jsonl", "qwen3-moe-tiny", 3},
      {"sglang-dump", "sglang_dump_mixtral.safetensors", "mixtral-tiny", 1},
  };
  for (const FixtureCase& c : cases) {
    SCOPED_TRACE(c.file);
    const fs::path dir = test::scratch_dir(std::string("import-cli-") + c.file);
    const fs::path db = dir / "s.db";
    // Two tags from the one capture, so compare has two sides.
    auto a = import(c.from, fixture(c.file), c.model, db,
                    "--tag a --engine-version 9.9 --tokenizer " + (test::golden_model(c.model) / "tokenizer.model").string());
    ASSERT_EQ(a.exit_code, 0) << a.output;
    auto b = import(c.from, fixture(c.file), c.model, db, "--tag b");
    ASSERT_EQ(b.exit_code, 0) << b.output;
    EXPECT_NE(a.output.find("imported " + std::to_string(c.runs) + " runs"), std::string::npos) << a.output;
    EXPECT_EQ(sessions::SessionReader(db).runs().size(), 2 * c.runs);

    auto report = test::run_command(binary() + " report --db " + db.string() + " --run 1 2>&1");
    ASSERT_EQ(report.exit_code, 0) << report.output;
    EXPECT_NE(report.output.find(std::string("imported from ") + (std::string(c.from) == "vllm" ? "vllm 9.9" : c.from)),
              std::string::npos)
        << report.output;
    EXPECT_NE(report.output.find("not captured: "), std::string::npos) << report.output;
    EXPECT_NE(report.output.find("timings"), std::string::npos) << report.output;
    auto report_json = test::run_command(binary() + " report --db " + db.string() + " --run 1 --json");
    ASSERT_EQ(report_json.exit_code, 0) << report_json.output;
    EXPECT_EQ(nlohmann::json::parse(report_json.output)["imported"]["engine"], c.from);

    auto compare = test::run_command(binary() + " compare --db " + db.string() + " --tags a,b 2>&1");
    ASSERT_EQ(compare.exit_code, 0) << compare.output;
    EXPECT_NE(compare.output.find("'a'"), std::string::npos) << compare.output;

    for (const char* format : {"csv", "json", "chrome-trace", "sqlite"}) {
      const fs::path out = dir / (std::string("out.") + format);
      auto exported = test::run_command(binary() + " export --db " + db.string() + " --format " + format + " --out " +
                                        out.string() + " 2>&1");
      EXPECT_EQ(exported.exit_code, 0) << format << ": " << exported.output;
      EXPECT_TRUE(fs::exists(out)) << format;
    }
    std::ifstream json_file(dir / "out.json");
    const auto document = nlohmann::json::parse(json_file);
    const auto& run = document["runs"][0];
    EXPECT_EQ(run["imported"]["engine"], c.from);
    // Weights no capture here has are null, not zeros.
    EXPECT_TRUE(run["routing"]["topk_weights"].is_null());
    // The first run of every fixture has token ids, shown through --tokenizer.
    ASSERT_FALSE(run["tokens"].empty());
    EXPECT_FALSE(run["tokens"][0]["text"].get<std::string>().empty());
  }
}

TEST(ImportCli, Case2_GoldenRouterLogitsPickTheExpertsMoescopeForwardPicks) {
  for (const std::string& model : test::kGoldenModels) {
    SCOPED_TRACE(model);
    const fs::path dir = test::scratch_dir("import-cli-hf-" + model);
    const fs::path db = dir / "s.db";
    auto imported = import("hf", test::golden_model(model) / "golden.safetensors", model, db);
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    auto golden = test::open_golden(model);
    std::string ids;
    for (int32_t id : golden.i32("input_ids")) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    const fs::path out = dir / "forward.safetensors";
    auto forward = test::run_command(binary() + " forward --model " + test::golden_model(model).string() +
                                     " --token-ids " + ids + " --out " + out.string() + " 2>&1");
    ASSERT_EQ(forward.exit_code, 0) << forward.output;
    auto file = open_safetensors(out);
    sessions::SessionReader reader(db);
    auto arrays = reader.routing(1, {});
    for (int32_t s = 0; s < arrays.n_layers; ++s) {
      const std::string name = "topk_ids." + std::to_string(arrays.layer_ids[static_cast<size_t>(s)]);
      std::vector<int32_t> engine;
      for (size_t i = 0; i < file->header.tensors.size(); ++i) {
        if (file->header.tensors[i].name != name) continue;
        auto view = file->view(i);
        engine.resize(static_cast<size_t>(view.numel()));
        std::memcpy(engine.data(), view.data, engine.size() * 4);
      }
      ASSERT_FALSE(engine.empty()) << name;
      std::vector<int32_t> imported_ids(arrays.topk_ids.begin() + static_cast<ptrdiff_t>(arrays.topk_offset(s, 0)),
                                        arrays.topk_ids.begin() +
                                            static_cast<ptrdiff_t>(arrays.topk_offset(s, arrays.n_tokens)));
      // The engine recomputes the logits from bf16 weights in its own order of operations, so a
      // near-tie may flip; the goldens' bf16-vs-fp32 agreement (0.97-0.98) is the yardstick.
      EXPECT_GE(test::topk_set_agreement(imported_ids, engine, arrays.top_k), 0.97) << name;
    }
  }
}

TEST(ImportCli, Case3_DamagedCapturesEndInOneClearLine) {
  const fs::path dir = test::scratch_dir("import-cli-bad");
  test::expect_one_clear_line(import("sglang", fixture("bad/sglang_truncated_base64.jsonl"), "mixtral-tiny", dir / "a.db"),
                              "(request truncated), meta_info.routed_experts: base64 text");
  test::expect_one_clear_line(import("vllm", fixture("bad/vllm_wrong_k.jsonl"), "mixtral-tiny", dir / "b.db"),
                              "routed_experts.shape: top-3, the config routes to 2 experts");
  test::expect_one_clear_line(import("pickle", fixture("sglang_mixtral.jsonl"), "mixtral-tiny", dir / "c.db"),
                              "--from pickle: unknown capture format");
  test::expect_one_clear_line(import("sglang-dump", fixture("sglang_mixtral.jsonl"), "mixtral-tiny", dir / "d.db"),
                              "sglang_mixtral.jsonl");
}

}  // namespace
}  // namespace moescope
