// Focus: config.json parsing for the five families, and clear refusals of configs we cannot run.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/model_config.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

std::string config_error(const std::string& json) {
  try {
    parse_model_config(json, "config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, GoldenConfigsParse) {
  auto mixtral = load_model_config(test::golden_model("mixtral-tiny") / "config.json");
  EXPECT_EQ(mixtral.family, Family::mixtral);
  EXPECT_EQ(mixtral.n_routed_experts, 8);
  EXPECT_EQ(mixtral.top_k, 2);
  EXPECT_EQ(mixtral.moe_layers().size(), 2u);

  auto v3 = load_model_config(test::golden_model("deepseek-v3-tiny") / "config.json");
  EXPECT_TRUE(v3.use_mla);
  EXPECT_EQ(v3.topk_method, TopkMethod::noaux_tc);
  EXPECT_EQ(v3.scoring, ScoringFunc::sigmoid);
  EXPECT_FALSE(v3.is_moe_layer(0));  // first_k_dense_replace = 1
  EXPECT_TRUE(v3.is_moe_layer(1));
  EXPECT_EQ(v3.rope_scaling.type, RopeType::yarn);
  EXPECT_DOUBLE_EQ(v3.routed_scaling_factor, 2.5);

  auto qwen = load_model_config(test::golden_model("qwen3-moe-tiny") / "config.json");
  EXPECT_TRUE(qwen.qk_norm);
  EXPECT_EQ(qwen.head_dim, 16);
}

TEST(ModelConfig, DeepSeekMoe16BConfigParses) {
  // The keys of deepseek-ai/deepseek-moe-16b-base's config.json.
  auto c = parse_model_config(R"({"model_type":"deepseek","vocab_size":102400,"hidden_size":2048,
      "intermediate_size":10944,"moe_intermediate_size":1408,"num_hidden_layers":28,"num_attention_heads":16,
      "num_key_value_heads":16,"n_shared_experts":2,"n_routed_experts":64,"num_experts_per_tok":6,
      "first_k_dense_replace":1,"moe_layer_freq":1,"norm_topk_prob":false,"scoring_func":"softmax",
      "max_position_embeddings":4096,"rms_norm_eps":1e-06,"rope_theta":10000,"hidden_act":"silu"})",
                              "config.json");
  EXPECT_EQ(c.family, Family::deepseek_v1);
  EXPECT_FALSE(c.use_mla);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.moe_layers().size(), 27u);
}

TEST(ModelConfig, UnknownModelTypeListsTheSupportedOnes) {
  const auto message = config_error(R"({"model_type":"llama","vocab_size":10,"hidden_size":8})");
  EXPECT_NE(message.find("unknown model_type \"llama\""), std::string::npos);
  EXPECT_NE(message.find("deepseek, deepseek_v2, deepseek_v3, mixtral, qwen3_moe"), std::string::npos);
}

TEST(ModelConfig, OverflowingAndNonPositiveSizesAreRefused) {
  const std::string base = R"("model_type":"mixtral","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
      "intermediate_size":128,"num_local_experts":8,"num_experts_per_tok":2)";
  EXPECT_NE(config_error("{" + base + R"(,"vocab_size":1099511627776})").find("\"vocab_size\" is 1099511627776"),
            std::string::npos);
  EXPECT_NE(config_error("{" + base + R"(,"vocab_size":0})").find("expected a positive integer"), std::string::npos);
  EXPECT_NE(config_error("{" + base + R"(,"vocab_size":-5})").find("expected a positive integer"), std::string::npos);
  EXPECT_NE(config_error(R"({"model_type":"mixtral","vocab_size":10})").find("missing \"hidden_size\""), std::string::npos);
}

TEST(ModelConfig, TopKMustNotExceedExperts) {
  EXPECT_NE(config_error(R"({"model_type":"mixtral","vocab_size":10,"hidden_size":64,"num_hidden_layers":2,
      "num_attention_heads":4,"intermediate_size":128,"num_local_experts":8,"num_experts_per_tok":9})")
                .find("num_experts_per_tok"),
            std::string::npos);
}

TEST(ModelConfig, NotJsonNamesTheFile) {
  EXPECT_NE(config_error("{oops").find("config.json: not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace moescope
