// Focus: hostile SentencePiece models found by fuzzing (tests/fuzz/fuzz_sentencepiece_model). A
// piece that is empty or holds a NUL byte made libsentencepiece's trie builder throw through code
// that cannot unwind, aborting the process; such models are now refused with an InputError naming
// the file and the piece, before libsentencepiece sees them.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace moescope
