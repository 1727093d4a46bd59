// Focus: the parts of the tokenizer.json implementation on small hand-made inputs: BPE merge
// order, byte fallback and unk, split behaviours, Metaspace, added-token flags, templates,
// normalizers, lossy UTF-8 and display text.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer.h"
#include "core/tokenizer/added_tokens.h"
#include "core/tokenizer/display_text.h"
#include "core/tokenizer/hf_pre_tokenizer.h"
#include "core/tokenizer/utf8.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using json = nlohmann::json;
using Ids = std::vector<int32_t>;

// A tokenizer.json with the given model vocabulary and merges and no other component.
json bpe_file(const json& vocab, const json& merges) {
  return json{{"version", "1.0"},
              {"added_tokens", json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

std::unique_ptr<Tokenizer> load_json(const json& file, const std::string& label) {
  const auto dir = test::scratch_dir("tokenizer-" + label);
  std::ofstream(dir / "tokenizer.json") << file.dump();
  return load_tokenizer_file(dir / "tokenizer.json");
}

// 1. The lowest-ranked merge applies first, whatever its position.
TEST(BpeModel, LowestRankMergesFirst) {
  const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}};
  EXPECT_EQ(load_json(bpe_file(vocab, {"b c", "a b"}), "rank1")->encode("abc", false), (Ids{0, 4}));
  EXPECT_EQ(load_json(bpe_file(vocab, {"a b", "b c"}), "rank2")->encode("abc", false), (Ids{3, 2}));
}

// 2. Equal ranks merge leftmost first, and merges chain into longer tokens.
TEST(BpeModel, TiesMergeLeftmostAndChain) {
  const json vocab = {{"a", 0}, {"aa", 1}, {"aaaa", 2}};
  const auto tokenizer = load_json(bpe_file(vocab, {"a a", "aa aa"}), "ties");
  EXPECT_EQ(tokenizer->encode("aaa", false), (Ids{1, 0}));
  EXPECT_EQ(tokenizer->encode("aaaaa", false), (Ids{2, 0}));
}

// 3. Merges may be written as pairs (the newer format) and a merge naming an unknown token is an
//    error naming it.
TEST(BpeModel, PairMergesAndUnknownMergeTokens) {
  const json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
  EXPECT_EQ(load_json(bpe_file(vocab, json::array({json::array({"a", "b"})})), "pairs")->encode("ab", false),
            (Ids{2}));
  try {
    load_json(bpe_file(vocab, {"a z"}), "badmerge");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
}

// 4. Characters missing from the vocabulary become their byte pieces with byte_fallback, which
//    the ByteFallback decoder turns back into the character; without the byte pieces, the unk
//    token (consecutive ones fused with fuse_unk).
TEST(BpeModel, ByteFallbackAndUnk) {
  json file = bpe_file({{"<unk>", 0}, {"<0xC3>", 1}, {"<0xA9>", 2}, {"a", 3}}, json::array());
  file["model"]["byte_fallback"] = true;
  file["model"]["unk_token"] = "<unk>";
  file["model"]["fuse_unk"] = true;
  file["decoder"] = {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}};
  const auto tokenizer = load_json(file, "bytefallback");
  EXPECT_EQ(tokenizer->encode("aé", false), (Ids{3, 1, 2}));
  EXPECT_EQ(tokenizer->decode(Ids{3, 1, 2}), "aé");
  EXPECT_EQ(tokenizer->decode(Ids{3, 1}), "a\xEF\xBF\xBD");       // a lone lead byte: U+FFFD
  EXPECT_EQ(tokenizer->encode("a日本a", false), (Ids{3, 0, 3}));  // two unknown characters, one unk
  EXPECT_EQ(tokenizer->display_text(1), "\\xC3");
}

// 4b. A sparse vocabulary: the vocabulary size is the largest id + 1 (the bound ids are checked
//     against), a hole decodes to nothing as in `tokenizers`, and a far id costs no table of that
//     size. Two tokens sharing an id decode as the first in key order, whichever order the file
//     lists them in.
TEST(BpeModel, SparseIdsAndSharedIds) {
  const auto sparse = load_json(bpe_file({{"a", 0}, {"b", 2}, {"far", 4000000}}, json::array()), "sparse");
  EXPECT_EQ(sparse->vocab_size(), 4000001);
  EXPECT_EQ(sparse->piece(4000000), "far");
  EXPECT_EQ(sparse->piece(1), "");
  EXPECT_EQ(sparse->piece(3999999), "");
  EXPECT_EQ(sparse->decode(Ids{0, 1, 2, 4000000}), "a b far");
  EXPECT_EQ(sparse->encode("b", false), (Ids{2}));

  for (const char* text : {R"({"zeta": 1, "alpha": 1, "x": 0})", R"({"alpha": 1, "x": 0, "zeta": 1})"}) {
    const auto shared = load_json(bpe_file(json::parse(text), json::array()), "shared");
    EXPECT_EQ(shared->vocab_size(), 2);
    EXPECT_EQ(shared->piece(1), "alpha") << text;
  }
}

// 5. Split behaviours cut "a-b--c" at "-" exactly as `tokenizers` does.
TEST(SplitBehavior, AllFiveBehaviours) {
  const std::string text = "a-b--c";
  const std::vector<std::pair<size_t, size_t>> dashes{{1, 2}, {3, 4}, {4, 5}};
  const auto pieces = [&](SplitBehavior behavior, bool invert) {
    std::vector<std::string> out;
    for (const TextRange& r : split_ranges(text.size(), dashes, behavior, invert)) {
      out.push_back(text.substr(r.begin, r.end - r.begin));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(SplitBehavior::Removed, false), (V{"a", "b", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::Isolated, false), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::MergedWithPrevious, false), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::MergedWithNext, false), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(pieces(SplitBehavior::Contiguous, false), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(pieces(SplitBehavior::Removed, true), (V{"-", "-", "-"}));
}

// 6. Metaspace: spaces become ▁, a ▁ is prepended, words split before each ▁, and the decoder
//    undoes it all.
TEST(Metaspace, PreTokenizerAndDecoderRoundTrip) {
  json file =
      bpe_file({{"▁hello", 0},
                {"▁world", 1},
                {"▁", 2},
                {"h", 3},
                {"e", 4},
                {"l", 5},
                {"o", 6},
                {"w", 7},
                {"r", 8},
                {"d", 9},
                {"▁h", 10},
                {"▁w", 11},
                {"el", 12},
                {"▁hel", 13},
                {"▁hell", 14},
                {"or", 15},
                {"▁wor", 16},
                {"▁worl", 17}},
               {"▁ h", "▁ w", "e l", "▁h el", "▁hel l", "▁hell o", "o r", "▁w or", "▁wor l", "▁worl d"});
  file["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  file["decoder"] = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  const auto tokenizer = load_json(file, "metaspace");
  const auto ids = tokenizer->encode("hello world", false);
  EXPECT_EQ(ids, (Ids{0, 1}));
  EXPECT_EQ(tokenizer->decode(ids), "hello world");
  EXPECT_EQ(tokenizer->display_text(1), "␣world");
}

// 6b. Digits: each digit its own word with individual_digits (DeepSeek-MoE), else runs of digits;
//     other numerals (here "²", category No) count as digits, as Rust's char::is_numeric.
TEST(Digits, IndividualAndContiguous) {
  json file = bpe_file({{"a", 0}, {"1", 1}, {"2", 2}, {"12", 3}, {"²", 4}}, {"1 2"});
  file["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  EXPECT_EQ(load_json(file, "digits1")->encode("a12²", false), (Ids{0, 1, 2, 4}));
  file["pre_tokenizer"]["individual_digits"] = false;
  EXPECT_EQ(load_json(file, "digits2")->encode("a12a", false), (Ids{0, 3, 0}));
}

// 7. Added tokens: leftmost-longest match; lstrip/rstrip take the neighbouring spaces;
//    single_word refuses a match inside a word.
TEST(AddedTokens, MatchingFlags) {
  AddedToken mask{"<mask>", 50, true, false, true, false, false};
  AddedToken mask_long{"<mask>>", 51, true, false, false, true, false};
  AddedToken word{"cat", 52, false, false, false, false, true};
  const AddedTokenMatcher matcher({mask, mask_long, word}, {"<mask>", "<mask>>", "cat"});
  const auto describe = [&](const std::string& text) {
    std::string out;
    for (const TextSegment& s : matcher.split(text)) {
      out += s.token_id >= 0 ? "[" + std::to_string(s.token_id) + ":" + s.text + "]" : "(" + s.text + ")";
    }
    return out;
  };
  EXPECT_EQ(describe("a  <mask> b"), "(a)[50:  <mask>]( b)");
  EXPECT_EQ(describe("a <mask>>  b"), "(a )[51:<mask>>  ](b)");
  EXPECT_EQ(describe("a cat"), "(a )[52:cat]");
  EXPECT_EQ(describe("concatenate"), "(concatenate)");
  EXPECT_EQ(describe(""), "");
}

// 8. Templates in both spellings add their special tokens; Bert-style cls/sep likewise.
TEST(PostProcessor, TemplatesAddSpecialTokens) {
  const json vocab = {{"<s>", 0}, {"</s>", 1}, {"a", 2}};
  json file = bpe_file(vocab, json::array());
  file["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", "<s> $A </s>"},
                            {"special_tokens",
                             {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}},
                              {"</s>", {{"id", "</s>"}, {"ids", {1}}, {"tokens", {"</s>"}}}}}}};
  const auto templated = load_json(file, "template");
  EXPECT_EQ(templated->encode("aa", true), (Ids{0, 2, 2, 1}));
  EXPECT_EQ(templated->encode("aa", false), (Ids{2, 2}));
  EXPECT_EQ(templated->bos_id(), 0);

  file["post_processor"] = {{"type", "RobertaProcessing"}, {"cls", {"<s>", 0}}, {"sep", {"</s>", 1}}};
  EXPECT_EQ(load_json(file, "roberta")->encode("a", true), (Ids{0, 2, 1}));
}

// 9. Normalizers: NFC composes "e" + combining acute into "é" before the model sees it; Replace
//    and Prepend as in Mistral's file.
TEST(Normalizers, NfcReplacePrepend) {
  json file = bpe_file({{"é", 0}, {"e", 1}, {"\xCC\x81", 2}, {"_", 3}, {"x", 4}}, json::array());
  file["normalizer"] = {{"type", "NFC"}};
  EXPECT_EQ(load_json(file, "nfc")->encode("e\xCC\x81", false), (Ids{0}));
  file["normalizer"] = {{"type", "Sequence"},
                        {"normalizers",
                         {{{"type", "Prepend"}, {"prepend", "_"}},
                          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}}}};
  const auto tokenizer = load_json(file, "prepend");
  EXPECT_EQ(tokenizer->encode("x x", false), (Ids{3, 4, 3, 4}));
  EXPECT_EQ(tokenizer->encode("", false), Ids{});
}

// 10. Lossy UTF-8 replaces each maximal ill-formed subpart with one U+FFFD (as Rust does).
TEST(Utf8, LossyDecoding) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::lossy("ok"), "ok");
  EXPECT_EQ(utf8::lossy("\xF0\x9F\x98"), fffd);     // truncated 4-byte sequence
  EXPECT_EQ(utf8::lossy("\xC0\x80"), fffd + fffd);  // overlong lead, lone continuation
  EXPECT_EQ(utf8::lossy("a\xED\xA0\x80"
                        "b"),
            "a" + fffd + fffd + fffd + "b");  // surrogate
  EXPECT_FALSE(utf8::is_valid("\xFF"));
  EXPECT_TRUE(utf8::is_valid("混合"));
}

// 11. Display text: spaces as ␣, control characters and stray bytes escaped, the rest as is.
TEST(DisplayText, MakesEveryByteVisible) {
  EXPECT_EQ(display_text_from_bytes(" the"), "␣the");
  EXPECT_EQ(display_text_from_bytes("\n\t\r"), "\\n\\t\\r");
  EXPECT_EQ(display_text_from_bytes(std::string("\0\x1B\x7F", 3)), "\\x00\\x1B\\x7F");
  EXPECT_EQ(display_text_from_bytes("\xE6"), "\\xE6");
  EXPECT_EQ(display_text_from_bytes("\xC2\x85"), "\\u0085");
  EXPECT_EQ(display_text_from_bytes("混合 ok"), "混合␣ok");
}

// 12. Display text of the real tokenizers: byte-level "Ġ"/"Ċ" and SentencePiece "▁"/"<0x0A>".
TEST(DisplayText, RealTokenizerPieces) {
  const auto deepseek = load_tokenizer_file(test::golden_dir() / "tokenizers/deepseek-v3/tokenizer.json");
  std::vector<std::string> shown;
  for (int32_t id : deepseek->encode("Hi there\n", false)) shown.push_back(deepseek->display_text(id));
  EXPECT_EQ(shown, (std::vector<std::string>{"Hi", "␣there", "\\n"}));
  EXPECT_EQ(deepseek->display_text(0), "<｜begin▁of▁sentence｜>");

  const auto mistral = load_tokenizer_file(test::golden_dir() / "tokenizers/mistral-v0.1/tokenizer.json");
  shown.clear();
  for (int32_t id : mistral->encode("Hi there\n", false)) shown.push_back(mistral->display_text(id));
  EXPECT_EQ(shown, (std::vector<std::string>{"␣Hi", "␣there", "\\n"}));
  EXPECT_EQ(mistral->piece(13), "<0x0A>");
}

}  // namespace
}  // namespace moescope
