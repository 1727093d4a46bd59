// Focus: hostile SentencePiece models found by fuzzing (tests/fuzz/fuzz_sentencepiece_model),
// refused with an InputError naming the file before libsentencepiece sees them:
// - a piece that is empty or holds a NUL byte made the library's trie builder throw through code
//   that cannot unwind, aborting the process;
// - a malformed normalizer charsmap made Encode read out of bounds (ASan SEGV).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// Protobuf wire format for a hand-made ModelProto: pieces are field 1, each with its text in
// field 1, score (float) in field 2 and type in field 3.
std::string varint(uint64_t v) {
  std::string out;
  do {
    out += static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return out;
}
std::string length_delimited(uint32_t field, const std::string& payload) {
  return varint(field << 3 | 2) + varint(payload.size()) + payload;
}
std::string piece(const std::string& text, uint32_t type) {
  const float score = -1.0f;
  std::string score_bytes(reinterpret_cast<const char*>(&score), 4);
  return length_delimited(1, length_delimited(1, text) + varint(2 << 3 | 5) + score_bytes + varint(3 << 3 | 0) + varint(type));
}

fs::path write_model(const std::string& label, const std::string& bytes) {
  auto path = test::scratch_dir("spm-hostile-" + label) / "tokenizer.model";
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string load_error(const fs::path& path) {
  try {
    load_tokenizer_file(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// SentencePiece types: 1 normal, 2 unknown, 3 control.
std::string model_with(const std::string& extra_piece) {
  return piece("<unk>", 2) + piece("<s>", 3) + piece("</s>", 3) + piece("a", 1) + extra_piece;
}

TEST(SentencePieceHostile, Case1_WellFormedHandMadeModelLoads) {
  auto path = write_model("fine", model_with(piece("b", 1)));
  EXPECT_EQ(load_error(path), "");
  EXPECT_EQ(load_tokenizer_file(path)->vocab_size(), 5);
}

TEST(SentencePieceHostile, Case2_EmptyPieceIsRefusedNamingThePiece) {
  auto path = write_model("empty", model_with(piece("", 1)));
  EXPECT_EQ(load_error(path), path.string() + ": SentencePiece model piece 4 is empty");
}

TEST(SentencePieceHostile, Case3_PieceHoldingNulIsRefused) {
  auto path = write_model("nul", model_with(piece(std::string("\0x", 2), 1)));
  EXPECT_EQ(load_error(path), path.string() + ": SentencePiece model piece 4 holds a NUL byte");
}

TEST(SentencePieceHostile, Case4_TheFuzzersFindingIsRefused) {
  const auto finding = test::source_dir() / "tests/fuzz/seeds/fuzz_sentencepiece_model/regress-nul-in-piece.model";
  ASSERT_TRUE(fs::exists(finding));
  EXPECT_NE(load_error(finding).find("holds a NUL byte"), std::string::npos) << load_error(finding);
}

TEST(SentencePieceHostile, Case5_MalformedProtobufIsLeftToLibsentencepiece) {
  auto path = write_model("truncated", model_with(piece("b", 1)).substr(0, 20));
  EXPECT_NE(load_error(path).find("not a SentencePiece model"), std::string::npos) << load_error(path);
}

// A hand-made charsmap with one rule, "a" -> "b": a 256-unit Darts double array whose root (unit 0,
// offset 0) has the child 'a' at unit 0x61; that child has a leaf and offset 0x80, so its value
// unit is 0x61 ^ 0x80 = 0xe1, whose value 0 points at "b\0" in the string pool.
struct Charsmap {
  std::vector<uint32_t> units = std::vector<uint32_t>(256, 0);
  std::string pool = std::string("b\0", 2);
  int64_t trie_size_delta = 0;  // added to the trie size written in the header

  Charsmap() {
    units[0x61] = (0x80u << 10) | (1u << 8) | 0x61u;
    units[0xe1] = 0x80000000u | 0u;
  }
  std::string blob() const {
    const auto trie_bytes = static_cast<uint32_t>(units.size() * 4 + trie_size_delta);
    std::string out(4 + units.size() * 4, '\0');
    std::memcpy(out.data(), &trie_bytes, 4);
    std::memcpy(out.data() + 4, units.data(), units.size() * 4);
    return out + pool;
  }
};

// NormalizerSpec: precompiled_charsmap is field 2; ModelProto.normalizer_spec is field 3 and
// denormalizer_spec field 5.
std::string model_with_charsmap(const Charsmap& charsmap, uint32_t spec_field = 3) {
  return model_with(piece("b", 1)) + length_delimited(spec_field, length_delimited(2, charsmap.blob()));
}

std::string charsmap_error(const std::string& label, const Charsmap& charsmap, uint32_t spec_field = 3) {
  return load_error(write_model(label, model_with_charsmap(charsmap, spec_field)));
}

TEST(SentencePieceHostile, Case6_WellFormedCharsmapLoadsAndNormalizes) {
  const auto path = write_model("charsmap-fine", model_with_charsmap(Charsmap{}));
  ASSERT_EQ(load_error(path), "");
  const auto tokenizer = load_tokenizer_file(path);
  // The rule rewrites "a" to "b" before the pieces are matched.
  EXPECT_EQ(tokenizer->encode("a", false), tokenizer->encode("b", false));
  EXPECT_NE(tokenizer->encode("a", false), tokenizer->encode("c", false));
}

TEST(SentencePieceHostile, Case7_RuleValuePastThePoolIsRefused) {
  Charsmap charsmap;
  charsmap.units[0xe1] = 0x80000000u | 7u;
  EXPECT_NE(charsmap_error("charsmap-value", charsmap)
                .find(": SentencePiece model's normalizer precompiled_charsmap is malformed: a rule's replacement at byte 7 "
                      "is not a NUL-terminated string inside the 2-byte pool"),
            std::string::npos)
      << charsmap_error("charsmap-value", charsmap);
  charsmap.units[0xe1] = 0x80000000u;
  charsmap.pool = "b";  // no terminating NUL
  EXPECT_NE(charsmap_error("charsmap-unterminated", charsmap).find("NUL-terminated"), std::string::npos);
}

TEST(SentencePieceHostile, Case8_ChildOrValuePastTheTrieIsRefused) {
  Charsmap children_past;
  children_past.units[0x61] = (0x400u << 10) | 0x61u;  // no leaf; its children would be units 0x461 ^ byte
  EXPECT_NE(charsmap_error("charsmap-children", children_past).find("children at unit 1121 lie past the trie's 256 units"),
            std::string::npos)
      << charsmap_error("charsmap-children", children_past);
  Charsmap value_past;
  value_past.units[0x61] = (0x400u << 10) | (1u << 8) | 0x61u;
  EXPECT_NE(charsmap_error("charsmap-leaf", value_past).find("value at unit 1121 lies past"), std::string::npos);
  Charsmap short_trie;  // the root's 256 children need 256 units
  short_trie.units.resize(255);
  EXPECT_NE(charsmap_error("charsmap-short", short_trie).find("lie past the trie's 255 units"), std::string::npos);
}

TEST(SentencePieceHostile, Case9_TrieSizePastTheBlobIsRefused) {
  Charsmap charsmap;
  charsmap.trie_size_delta = 3;  // libsentencepiece's own check lets this through
  EXPECT_NE(charsmap_error("charsmap-size", charsmap).find("its trie size 1027 exceeds the 1026 bytes that follow"),
            std::string::npos)
      << charsmap_error("charsmap-size", charsmap);
}

TEST(SentencePieceHostile, Case10_DenormalizerCharsmapIsCheckedToo) {
  Charsmap charsmap;
  charsmap.units[0xe1] = 0x80000000u | 7u;
  EXPECT_NE(charsmap_error("denormalizer", charsmap, 5).find("denormalizer precompiled_charsmap is malformed"),
            std::string::npos);
}

TEST(SentencePieceHostile, Case11_TheFuzzersCharsmapFindingIsRefused) {
  const auto finding = test::source_dir() / "tests/fuzz/seeds/fuzz_sentencepiece_model/regress-charsmap-oob-read.model";
  ASSERT_TRUE(fs::exists(finding));
  EXPECT_NE(load_error(finding).find("precompiled_charsmap is malformed"), std::string::npos) << load_error(finding);
}

// The golden models' tokenizers were trained with nmt_nfkc, so they carry real charsmaps (tens of
// thousands of units): the check must pass them and they must keep normalizing.
TEST(SentencePieceHostile, Case12_RealCharsmapsPass) {
  for (const char* model : {"deepseek-v2-lite-tiny", "qwen3-moe-tiny"}) {
    SCOPED_TRACE(model);
    const auto tokenizer = load_tokenizer_for_model(test::golden_model(model));
    EXPECT_EQ(tokenizer->encode("\uff21", false), tokenizer->encode("A", false));  // fullwidth A folds to A
  }
}

TEST(SentencePieceHostile, Case13_AnOversizedCharsmapIsRefusedBeforeItIsWalked) {
  Charsmap charsmap;
  charsmap.pool += std::string(size_t{16} << 20, 'x');  // checking it could take ~1 G steps per 16 MiB
  EXPECT_NE(charsmap_error("charsmap-huge", charsmap).find("more than the 16777216 this checks"), std::string::npos);
}

}  // namespace
}  // namespace moescope
