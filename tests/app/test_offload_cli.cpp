// Focus: `moescope offload`, run as a user would, on sessions the binary records from the demo
// model (assets/models/demo-moe, the code and verse prompt sets) and on a DeepSeek-V3-shaped session
// (256 experts, top-8, 58 MoE layers, fp8 block-scaled experts) written through the recorder. Hit
// rates must equal the plain simulation of tests/support/expert_cache_reference.h at every size and
// policy, belady must be at least lru and lfu everywhere, bytes and time must follow from the
// model config and the link, and bad input gets one clear line.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/cli_checks.h"
#include "tests/support/expert_cache_reference.h"
#include "tests/support/sanitizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

constexpr const char* kPolicies[] = {"lru", "lfu", "belady"};

class OffloadCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = test::scratch_dir("offload-cli");
    demo_db_ = new std::filesystem::path(dir / "demo.moescope");
    const auto model = test::source_dir() / "assets" / "models" / "demo-moe";
    for (const char* set : {"code", "verse"}) {
      const auto prompts = test::demo_prompt_set(set, dir);
      auto r = test::run_command(test::moescope_binary().string() + " record --model " + model.string() +
                                 " --prompts " + prompts.string() + " --db " + demo_db_->string() +
                                 " --max-new-tokens 8 2>&1");
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  static void TearDownTestSuite() {
    delete demo_db_;
    demo_db_ = nullptr;
  }

  static nlohmann::json offload_json(const std::filesystem::path& db, const std::string& options) {
    auto r = test::run_command(test::moescope_binary().string() + " offload --db " + db.string() + " " +
                               options + " --json 2>&1");
    EXPECT_EQ(r.exit_code, 0) << options << ": " << r.output;
    return nlohmann::json::parse(r.output);
  }

  static std::filesystem::path* demo_db_;
};

std::filesystem::path* OffloadCli::demo_db_ = nullptr;

// 1. On every demo run, every policy at every size 1..8 gives the reference's hit rate, and the
// single-size runs agree with the sweep layer by layer.
TEST_F(OffloadCli, DemoHitRatesEqualTheReferenceSimulation) {
  sessions::SessionReader reader(*demo_db_);
  const auto runs = reader.runs();
  ASSERT_GE(runs.size(), test::kSanitizerAllocator ? 8u : 40u);
  for (const auto& run : runs) {
    const auto lookups = test::reference_lookups(reader.routing(run.id, {false, false}));
    const nlohmann::json sweep = offload_json(*demo_db_, "--run " + std::to_string(run.id) + " --sweep");
    ASSERT_EQ(sweep["curves"].size(), 3u);
    for (const auto& curve : sweep["curves"]) {
      const std::string policy = curve["policy"];
      ASSERT_EQ(curve["cache"].size(), 8u);
      for (size_t i = 0; i < 8; ++i) {
        const int32_t capacity = curve["cache"][i];
        int64_t hits = 0, total = 0;
        for (const auto& layer : lookups) {
          hits += test::reference_cache_hits(policy, capacity, 8, layer);
          total += static_cast<int64_t>(layer.size());
        }
        EXPECT_DOUBLE_EQ(curve["hit_rate"][i].get<double>(),
                         static_cast<double>(hits) / static_cast<double>(total))
            << "run " << run.id << " " << policy << " C=" << capacity;
      }
    }
  }
  const int64_t run = runs.front().id;
  const auto lookups = test::reference_lookups(reader.routing(run, {false, false}));
  for (const char* policy : kPolicies) {
    for (int capacity : {1, 3, 6}) {
      const nlohmann::json out =
          offload_json(*demo_db_, "--run " + std::to_string(run) + " --cache " + std::to_string(capacity) +
                                      " --policy " + policy);
      EXPECT_EQ(out["policy"], policy);
      EXPECT_EQ(out["cache"], capacity);
      ASSERT_EQ(out["layers"].size(), lookups.size());
      for (size_t l = 0; l < lookups.size(); ++l) {
        EXPECT_EQ(out["layers"][l]["lookups"], lookups[l].size());
        EXPECT_EQ(out["layers"][l]["hits"], test::reference_cache_hits(policy, capacity, 8, lookups[l]))
            << policy << " C=" << capacity << " layer " << l;
      }
    }
  }
}

// 2. belady >= lfu and lru at every size on every demo run; with all 8 experts resident every
// policy misses only the first lookup of each expert, so the three agree there.
TEST_F(OffloadCli, BeladyBoundsTheOtherPoliciesOnDemoRuns) {
  sessions::SessionReader reader(*demo_db_);
  for (const auto& run : reader.runs()) {
    const nlohmann::json sweep = offload_json(*demo_db_, "--run " + std::to_string(run.id) + " --sweep");
    const auto& lru = sweep["curves"][0]["hit_rate"];
    const auto& lfu = sweep["curves"][1]["hit_rate"];
    const auto& belady = sweep["curves"][2]["hit_rate"];
    ASSERT_EQ(sweep["curves"][2]["policy"], "belady");
    for (size_t i = 0; i < belady.size(); ++i) {
      EXPECT_GE(belady[i].get<double>(), lru[i].get<double>()) << "run " << run.id << " C=" << i + 1;
      EXPECT_GE(belady[i].get<double>(), lfu[i].get<double>()) << "run " << run.id << " C=" << i + 1;
    }
    EXPECT_DOUBLE_EQ(lru.back().get<double>(), belady.back().get<double>());
    EXPECT_DOUBLE_EQ(lfu.back().get<double>(), belady.back().get<double>());
  }
}

// 3. Bytes from the demo config (bf16, hidden 256, intermediate 384: 3 x 256 x 384 x 2 = 589,824
// bytes an expert) and time from the link (PCIe 5.0 x16: 32 GT/s x 16 x 128/130 / 8 bytes/s).
TEST_F(OffloadCli, BytesAndTimeFollowTheConfigAndTheLink) {
  const nlohmann::json out = offload_json(*demo_db_, "--run 2 --cache 3 --policy lfu --link pcie5");
  EXPECT_EQ(out["expert_dtype"], "bf16");
  EXPECT_EQ(out["expert_bytes"], 589824);
  const double misses = out["lookups"].get<double>() - out["hits"].get<double>();
  const double bytes_per_token = misses * 589824.0 / out["tokens"].get<double>();
  EXPECT_NEAR(out["bytes_per_token"].get<double>(), bytes_per_token, 1e-9 * bytes_per_token);
  const double link = 32e9 * 16 * 128 / 130 / 8;
  EXPECT_NEAR(out["modelled_ms_per_token"].get<double>(), 1e3 * bytes_per_token / link, 1e-12);
  EXPECT_GT(out["decode_tokens"].get<int>(), 0);
  EXPECT_GT(out["decode_bytes_per_token"].get<double>(), 0.0);

  auto text = test::run_command(test::moescope_binary().string() + " offload --db " + demo_db_->string() +
                                " --run 2 --cache 3 --policy lfu");
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("lfu cache of 3 slots per layer"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("31.5 GB/s"), std::string::npos) << text.output;  // pcie4, the default
}

// 4. Bad input: one clear line each, naming the value and what was expected.
TEST_F(OffloadCli, BadInputGetsOneClearLine) {
  const std::string base =
      test::moescope_binary().string() + " offload --db " + demo_db_->string() + " --run 1";
  test::expect_one_clear_line(test::run_command(base + " --cache 0 2>&1"), "--cache 0: expected 1..8");
  test::expect_one_clear_line(test::run_command(base + " --cache 9 2>&1"), "--cache 9: expected 1..8");
  test::expect_one_clear_line(test::run_command(base + " --cache 2 --policy fifo 2>&1"),
                              "--policy fifo: expected lru, lfu or belady");
  test::expect_one_clear_line(test::run_command(base + " --cache 2 --link pcie3 2>&1"),
                              "--link pcie3: expected one of pcie4, pcie5, nvlink-c2c");
  test::expect_one_clear_line(test::run_command(base + " 2>&1"), "needs --cache C");
  test::expect_one_clear_line(test::run_command(test::moescope_binary().string() + " offload --db " +
                                                demo_db_->string() + " --run 999 --cache 2 2>&1"),
                              "no run 999");

  // A complete run that recorded no routing.
  const auto db = test::scratch_dir("offload-no-routing") / "empty.moescope";
  {
    sessions::SessionWriter writer(db, "test");
    const int64_t model_id = writer.add_model(test::synthetic_model());
    writer.begin_run(test::synthetic_run_info({}, model_id, "code"));
    writer.end_run({});
    writer.flush();
  }
  test::expect_one_clear_line(test::run_command(test::moescope_binary().string() + " offload --db " +
                                                db.string() + " --run 1 --cache 2 2>&1"),
                              "run 1 recorded no routing");
}

// DeepSeek-V3's config.json shapes (the layer count, MoE layers from the fourth on) with its fp8
// quantization_config.
constexpr const char* kDeepSeekV3Config = R"({"model_type":"deepseek_v3","vocab_size":129280,
  "hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,"num_hidden_layers":61,
  "num_attention_heads":128,"num_key_value_heads":128,"n_shared_experts":1,"n_routed_experts":256,
  "routed_scaling_factor":2.5,"kv_lora_rank":512,"q_lora_rank":1536,"qk_rope_head_dim":64,"v_head_dim":128,
  "qk_nope_head_dim":128,"topk_method":"noaux_tc","n_group":8,"topk_group":4,"num_experts_per_tok":8,
  "moe_layer_freq":1,"first_k_dense_replace":3,"norm_topk_prob":true,"scoring_func":"sigmoid",
  "max_position_embeddings":163840,"rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":false,
  "bos_token_id":0,"eos_token_id":1,"torch_dtype":"bfloat16",
  "quantization_config":{"activation_scheme":"dynamic","fmt":"e4m3","quant_method":"fp8","weight_block_size":[128,128]}})";

// 5. A DeepSeek-V3-shaped session: 58 MoE layers of 256 experts, top-8, a 24-token prefill and 12
// decode steps. An fp8 expert is 3 x 7168 x 2048 bytes plus one f32 scale per 128x128 block
// (3 x 56 x 16 blocks): 44,040,192 + 10,752 bytes.
TEST_F(OffloadCli, DeepSeekV3ShapedSession) {
  const auto db = test::scratch_dir("offload-v3") / "v3.moescope";
  test::SyntheticSpec spec;
  spec.moe_layers.clear();
  for (int32_t l = 3; l < 61; ++l) spec.moe_layers.push_back(l);
  spec.n_experts = 256;
  spec.top_k = 8;
  spec.prompt_tokens = 24;
  spec.decode_steps = 12;
  spec.ep_ranks = 0;
  {
    sessions::SessionWriter writer(db, "test");
    sessions::ModelInfo model = test::synthetic_model();
    model.model_type = "deepseek_v3";
    model.family = "deepseek_v3";
    model.config_json = kDeepSeekV3Config;
    model.n_layers = 61;
    model.n_experts = 256;
    model.top_k = 8;
    test::record_synthetic_run(writer, writer.add_model(model), spec);
    writer.flush();
  }
  const nlohmann::json out = offload_json(db, "--run 1 --cache 64 --policy belady --link nvlink-c2c");
  EXPECT_EQ(out["expert_dtype"], "fp8_e4m3");
  EXPECT_EQ(out["expert_bytes"], 44040192 + 10752);
  EXPECT_EQ(out["n_experts"], 256);
  ASSERT_EQ(out["layers"].size(), 58u);
  EXPECT_EQ(out["layers"][0]["layer"], 3);
  EXPECT_EQ(out["layers"][57]["layer"], 60);

  sessions::SessionReader reader(db);
  const auto lookups = test::reference_lookups(reader.routing(1, {false, false}));
  const nlohmann::json sweep = offload_json(db, "--run 1 --sweep");
  for (size_t i : {0, 7, 31, 63, 127, 200, 255}) {
    int64_t hits[3] = {0, 0, 0}, total = 0;
    for (const auto& layer : lookups) {
      for (int p = 0; p < 3; ++p)
        hits[p] += test::reference_cache_hits(kPolicies[p], static_cast<int32_t>(i + 1), 256, layer);
      total += static_cast<int64_t>(layer.size());
    }
    for (int p = 0; p < 3; ++p) {
      EXPECT_DOUBLE_EQ(sweep["curves"][p]["hit_rate"][i].get<double>(),
                       static_cast<double>(hits[p]) / static_cast<double>(total))
          << kPolicies[p] << " C=" << i + 1;
    }
  }
  for (size_t i = 0; i < 256; ++i) {
    EXPECT_GE(sweep["curves"][2]["hit_rate"][i].get<double>(),
              sweep["curves"][0]["hit_rate"][i].get<double>());
    EXPECT_GE(sweep["curves"][2]["hit_rate"][i].get<double>(),
              sweep["curves"][1]["hit_rate"][i].get<double>());
  }
  test::expect_one_clear_line(test::run_command(test::moescope_binary().string() + " offload --db " +
                                                db.string() + " --run 1 --cache 257 2>&1"),
                              "--cache 257: expected 1..256");
}

}  // namespace
}  // namespace moescope
