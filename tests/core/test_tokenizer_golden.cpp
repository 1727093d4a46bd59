// Focus: the two real tokenizer.json files (Mistral v0.1: SentencePiece-style BPE with byte
// fallback; DeepSeek-V3: byte-level BPE with a \p{..} regex pre-tokenizer) reproduce every id list
// and decoded string of tests/fixtures/golden/tokenizers/expected.json exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/tokenizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

struct GoldenCase {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<int32_t> ids_with_special;
  std::string decoded;
};

std::vector<GoldenCase> golden_cases(const std::string& tokenizer) {
  const auto expected = read_json(test::golden_dir() / "tokenizers" / "expected.json");
  std::vector<GoldenCase> cases;
  for (const auto& entry : expected.at(tokenizer)) {
    cases.push_back({entry.at("text").get<std::string>(), entry.at("ids").get<std::vector<int32_t>>(),
                     entry.at("ids_with_special").get<std::vector<int32_t>>(),
                     entry.at("decoded").get<std::string>()});
  }
  return cases;
}

// Loaded once per tokenizer for the whole file (DeepSeek-V3's file is 7.8 MB of JSON).
const Tokenizer& golden_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto& tokenizer = loaded[name];
  if (!tokenizer)
    tokenizer = load_tokenizer_file(test::golden_dir() / "tokenizers" / name / "tokenizer.json");
  return *tokenizer;
}

class GoldenTokenizer : public ::testing::TestWithParam<std::string> {};

// 1. The golden texts are the ones texts.json lists, 25 of them for each tokenizer.
TEST_P(GoldenTokenizer, CoversEveryTextOfTextsJson) {
  const auto texts =
      read_json(test::golden_dir() / "tokenizers" / "texts.json").get<std::vector<std::string>>();
  const auto cases = golden_cases(GetParam());
  ASSERT_EQ(cases.size(), texts.size());
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(cases[i].text, texts[i]);
}

// 2. Encoding without special tokens gives exactly the expected ids.
TEST_P(GoldenTokenizer, EncodesEveryTextExactly) {
  const Tokenizer& tokenizer = golden_tokenizer(GetParam());
  for (const GoldenCase& c : golden_cases(GetParam())) {
    EXPECT_EQ(tokenizer.encode(c.text, false), c.ids) << "text: " << c.text;
  }
}

// 3. With special tokens (the file's post-processor template) likewise.
TEST_P(GoldenTokenizer, EncodesEveryTextWithSpecialTokensExactly) {
  const Tokenizer& tokenizer = golden_tokenizer(GetParam());
  for (const GoldenCase& c : golden_cases(GetParam())) {
    EXPECT_EQ(tokenizer.encode(c.text, true), c.ids_with_special) << "text: " << c.text;
  }
}

// 4. Decoding the ids gives the expected text, which for these texts is the input itself.
TEST_P(GoldenTokenizer, DecodesEveryIdListExactly) {
  const Tokenizer& tokenizer = golden_tokenizer(GetParam());
  for (const GoldenCase& c : golden_cases(GetParam())) {
    EXPECT_EQ(tokenizer.decode(c.ids), c.decoded) << "text: " << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTokenizer, ::testing::Values("mistral-v0.1", "deepseek-v3"),
                         [](const auto& info) {
                           return info.param == "mistral-v0.1" ? "Mistral" : "DeepSeekV3";
                         });

// 5. Vocabulary sizes and BOS/EOS come from the files (model vocabulary plus added tokens;
//    tokenizer_config.json names BOS and EOS).
TEST(GoldenTokenizerFacts, VocabularyAndSpecialIds) {
  const Tokenizer& mistral = golden_tokenizer("mistral-v0.1");
  EXPECT_EQ(mistral.vocab_size(), 32000);
  EXPECT_EQ(mistral.bos_id(), 1);
  EXPECT_EQ(mistral.eos_id(), 2);
  EXPECT_EQ(mistral.piece(1), "<s>");
  const Tokenizer& deepseek = golden_tokenizer("deepseek-v3");
  EXPECT_EQ(deepseek.vocab_size(), 128815);
  EXPECT_EQ(deepseek.bos_id(), 0);
  EXPECT_EQ(deepseek.eos_id(), 1);
  EXPECT_EQ(deepseek.piece(0), "<｜begin▁of▁sentence｜>");
}

// 6. Added tokens written in the text are recognised before the model runs, and decode as
//    themselves.
TEST(GoldenTokenizerFacts, SpecialTokensInTextBecomeTheirIds) {
  const Tokenizer& deepseek = golden_tokenizer("deepseek-v3");
  const auto ids = deepseek.encode("<｜begin▁of▁sentence｜>Hello world<｜end▁of▁sentence｜>", false);
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 19923, 2058, 1}));
  EXPECT_EQ(deepseek.decode(ids), "<｜begin▁of▁sentence｜>Hello world<｜end▁of▁sentence｜>");

  const Tokenizer& mistral = golden_tokenizer("mistral-v0.1");
  const auto mistral_ids = mistral.encode("Hello world</s>", true);
  ASSERT_GE(mistral_ids.size(), 3u);
  EXPECT_EQ(mistral_ids.front(), 1);
  EXPECT_EQ(mistral_ids.back(), 2);
}

}  // namespace
}  // namespace moescope
