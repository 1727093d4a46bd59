// Focus: tokenizer.model files through libsentencepiece: the 512-piece models of the golden
// checkpoints load, their BOS/EOS ids are the config's, text round-trips, and a checkpoint folder
// picks tokenizer.model over tokenizer.json.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/tokenizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

const char* const kModels[] = {"mixtral-tiny", "deepseek-v3-tiny", "deepseek-v2-lite-tiny", "qwen3-moe-tiny"};

nlohmann::json config_of(const std::string& model) {
  std::ifstream in(test::golden_model(model) / "config.json");
  return nlohmann::json::parse(in);
}

// 1. Each golden checkpoint's tokenizer.model loads with 512 pieces, and its BOS/EOS ids equal
//    the config's bos_token_id/eos_token_id.
TEST(SentencePieceTokenizer, GoldenModelsLoadWithConfigBosEos) {
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    const auto tokenizer = load_tokenizer_for_model(test::golden_model(model));
    const auto config = config_of(model);
    EXPECT_EQ(tokenizer->vocab_size(), 512);
    ASSERT_TRUE(tokenizer->bos_id().has_value());
    ASSERT_TRUE(tokenizer->eos_id().has_value());
    EXPECT_EQ(*tokenizer->bos_id(), config.at("bos_token_id").get<int32_t>());
    EXPECT_EQ(*tokenizer->eos_id(), config.at("eos_token_id").get<int32_t>());
  }
}

// 2. Text, including characters outside the 512 pieces (byte fallback), decodes back unchanged.
TEST(SentencePieceTokenizer, TextRoundTrips) {
  const std::string texts[] = {"Hello world", "The experts route tokens. Second line",
                               "naïve café 混合专家 🚀", "1234567890", "x^2 + y_i = {a, b}; // ok?"};
  for (const char* model : kModels) {
    const auto tokenizer = load_tokenizer_for_model(test::golden_model(model));
    for (const std::string& text : texts) {
      SCOPED_TRACE(std::string(model) + ": " + text);
      const auto ids = tokenizer->encode(text, false);
      EXPECT_FALSE(ids.empty());
      EXPECT_EQ(tokenizer->decode(ids), text);
    }
  }
}

// 3. These models were trained with spm_train's default nmt_nfkc normalization, which folds
//    newlines and tabs into spaces and collapses runs of spaces: libsentencepiece (and so
//    transformers' slow tokenizer) decodes such text without them. We pass that through unchanged.
TEST(SentencePieceTokenizer, ModelNormalizationFoldsWhitespace) {
  const auto tokenizer = load_tokenizer_for_model(test::golden_model("qwen3-moe-tiny"));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("tabs\tand  double\nspaces", false)),
            "tabs and double spaces");
}

// 4. With special tokens the ids start with BOS and are otherwise those without (Llama convention:
//    BOS only, no EOS).
TEST(SentencePieceTokenizer, SpecialTokensPrependBos) {
  const auto tokenizer = load_tokenizer_for_model(test::golden_model("deepseek-v2-lite-tiny"));
  const auto plain = tokenizer->encode("Hello world", false);
  const auto special = tokenizer->encode("Hello world", true);
  ASSERT_EQ(special.size(), plain.size() + 1);
  EXPECT_EQ(special.front(), 160);  // this model's <s>
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), special.begin() + 1));
  EXPECT_EQ(tokenizer->encode("", true), std::vector<int32_t>{160});
  // Decoding keeps control tokens as their text (libsentencepiece alone would drop them).
  EXPECT_EQ(tokenizer->decode(special), "<s>Hello world");
}

// 5. Pieces and display text: byte pieces show their character or an escape, ▁ shows as ␣.
TEST(SentencePieceTokenizer, DisplayTextMakesBytesAndSpacesVisible) {
  const auto tokenizer = load_tokenizer_for_model(test::golden_model("mixtral-tiny"));
  // ☃ is not among the 512 pieces: it is encoded as its three UTF-8 bytes, each shown escaped.
  const auto ids = tokenizer->encode("a ☃", false);
  std::string shown;
  for (int32_t id : ids) shown += tokenizer->display_text(id);
  EXPECT_EQ(shown, "␣a␣\\xE2\\x98\\x83");
  bool saw_byte_piece = false;
  for (int32_t id = 0; id < tokenizer->vocab_size(); ++id) {
    if (tokenizer->piece(id) == "<0x0A>") {
      EXPECT_EQ(tokenizer->display_text(id), "\\n");
      saw_byte_piece = true;
    }
  }
  EXPECT_TRUE(saw_byte_piece);
}

// 6. A folder with both files uses tokenizer.model; with only tokenizer.json, that one.
TEST(TokenizerLoading, FolderPrefersTokenizerModel) {
  const auto dir = test::scratch_dir("tokenizer-both");
  std::filesystem::copy_file(test::golden_model("mixtral-tiny") / "tokenizer.model", dir / "tokenizer.model");
  std::filesystem::copy_file(test::golden_dir() / "tokenizers/mistral-v0.1/tokenizer.json",
                             dir / "tokenizer.json");
  EXPECT_EQ(load_tokenizer_for_model(dir)->vocab_size(), 512);
  std::filesystem::remove(dir / "tokenizer.model");
  EXPECT_EQ(load_tokenizer_for_model(dir)->vocab_size(), 32000);
  std::filesystem::remove_all(dir);
}

// 7. Ids outside the vocabulary (a model may have more embedding rows than the tokenizer has
//    pieces) are left out of decoded text and shown as unknown, never an error or a crash.
TEST(SentencePieceTokenizer, OutOfRangeIdsAreSkippedAndMarked) {
  const auto tokenizer = load_tokenizer_for_model(test::golden_model("mixtral-tiny"));
  const auto hello = tokenizer->encode("Hello", false);
  std::vector<int32_t> with_bad{512};
  with_bad.insert(with_bad.end(), hello.begin(), hello.end());
  with_bad.push_back(-1);
  EXPECT_EQ(tokenizer->decode(with_bad), "Hello");
  EXPECT_EQ(tokenizer->piece(-1), "");
  EXPECT_EQ(tokenizer->display_text(9999), "<unknown id 9999>");
}

}  // namespace
}  // namespace moescope
