// Focus: the safetensors parser accepts exactly the valid files and refuses every malformed header
// with one message naming the file and the problem; the writer round-trips; F8 block scales apply.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

std::vector<std::byte> make_file(const std::string& header, size_t data_bytes, uint64_t declared_len = UINT64_MAX) {
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  uint64_t len = declared_len == UINT64_MAX ? header.size() : declared_len;
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string parse_error(const std::vector<std::byte>& bytes) {
  try {
    parse_safetensors_header(bytes, "crafted.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, ValidFileParsesInDataOrder) {
  auto bytes = make_file(
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}})",
      12);
  auto header = parse_safetensors_header(bytes, "ok");
  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.tensors[0].name, "a");
  EXPECT_EQ(header.tensors[1].name, "b");
  EXPECT_EQ(header.metadata.at("format"), "pt");
}

TEST(Safetensors, Case1_TruncatedBeforeHeaderLength) {
  std::vector<std::byte> bytes(5, std::byte{0});
  EXPECT_NE(parse_error(bytes).find("truncated"), std::string::npos);
}

TEST(Safetensors, Case2_HeaderLengthBeyondFile) {
  auto bytes = make_file(R"({})", 0, 1000);
  EXPECT_NE(parse_error(bytes).find("runs past the end of the file"), std::string::npos);
}

TEST(Safetensors, Case3_HeaderLengthOverLimit) {
  auto bytes = make_file(R"({})", 0, 200'000'000);
  EXPECT_NE(parse_error(bytes).find("exceeds the 100000000-byte limit"), std::string::npos);
}

TEST(Safetensors, Case4_OverlappingOffsets) {
  auto bytes = make_file(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  EXPECT_NE(parse_error(bytes).find("overlaps"), std::string::npos);
}

TEST(Safetensors, Case5_GapBetweenTensors) {
  auto bytes = make_file(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12);
  EXPECT_NE(parse_error(bytes).find("gap of 4 bytes before tensor 'b'"), std::string::npos);
}

TEST(Safetensors, Case6_TrailingBytes) {
  auto bytes = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 10);
  EXPECT_NE(parse_error(bytes).find("trailing bytes"), std::string::npos);
}

TEST(Safetensors, Case7_ShapeTimesDtypeMismatch) {
  auto bytes = make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  EXPECT_NE(parse_error(bytes).find("shape x dtype size = 12 bytes but data_offsets span 8"), std::string::npos);
}

TEST(Safetensors, Case8_UnknownDtype) {
  auto bytes = make_file(R"({"a":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_NE(parse_error(bytes).find("unsupported dtype 'Q4_K'"), std::string::npos);
}

TEST(Safetensors, Case9_DuplicateNamesRejected) {
  auto bytes = make_file(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
  EXPECT_NE(parse_error(bytes).find("duplicate tensor name 'a'"), std::string::npos);
}

TEST(Safetensors, Case10_ElementCountOverflow) {
  auto bytes = make_file(
      R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(parse_error(bytes).find("overflows"), std::string::npos);
}

TEST(Safetensors, Case11_MetadataMustBeStrings) {
  auto bytes = make_file(R"({"__metadata__":{"n":3}})", 0);
  EXPECT_NE(parse_error(bytes).find("is not a string"), std::string::npos);
}

TEST(Safetensors, Case12_NotJson) {
  auto bytes = make_file("{not json", 0);
  EXPECT_NE(parse_error(bytes).find("not valid JSON"), std::string::npos);
}

TEST(Safetensors, Case13_NegativeOrFractionalShape) {
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0)).find("non-negative integer"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}})", 0)).find("non-negative integer"),
            std::string::npos);
}

TEST(Safetensors, WriterRoundTrips) {
  auto dir = test::scratch_dir("st-writer");
  std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f};
  std::vector<int32_t> ids = {7, -3};
  write_safetensors(dir / "x.safetensors",
                    {make_f32_tensor("values", {2, 2}, values), make_i32_tensor("ids", {2}, ids)});
  auto file = open_safetensors(dir / "x.safetensors");
  ASSERT_EQ(file->header.tensors.size(), 2u);
  std::vector<float> back(4);
  convert_to_f32(file->view(0), 0, 4, back.data());
  EXPECT_EQ(back, values);
  EXPECT_EQ(file->header.tensors[1].name, "ids");
  EXPECT_EQ(file->header.tensors[1].dtype, DType::i32);
}

TEST(Safetensors, ElementConversions) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f8_e4m3_to_f32(0x38), 1.0f);   // exponent 7 = bias, mantissa 0
  EXPECT_EQ(f8_e4m3_to_f32(0x7e), 448.0f);  // largest finite E4M3
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0x7f)));
}

TEST(Checkpoint, F8WeightsAreDequantisedWithBlockScales) {
  auto dir = test::scratch_dir("ckpt-f8");
  // (130, 2) F8 weight of ones (0x38): two row blocks with scales 2 and 0.5.
  OutputTensor weight{"w.weight", DType::f8_e4m3, {130, 2}, std::vector<std::byte>(260, std::byte{0x38})};
  std::vector<float> scales = {2.0f, 0.5f};
  write_safetensors(dir / "model.safetensors", {weight, make_f32_tensor("w.weight_scale_inv", {2, 1}, scales)});
  auto checkpoint = open_checkpoint(dir);
  auto values = read_tensor_f32(checkpoint, "w.weight");
  EXPECT_EQ(values[0], 2.0f);
  EXPECT_EQ(values[127 * 2 + 1], 2.0f);
  EXPECT_EQ(values[128 * 2], 0.5f);
}

TEST(Checkpoint, ShardedIndexLoadsEveryShard) {
  auto dir = test::scratch_dir("ckpt-shards");
  std::vector<float> a = {1, 2}, b = {3};
  write_safetensors(dir / "model-00001-of-00002.safetensors", {make_f32_tensor("a", {2}, a)});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {make_f32_tensor("b", {1}, b)});
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})";
  auto checkpoint = open_checkpoint(dir);
  EXPECT_EQ(checkpoint.tensors.size(), 2u);
  EXPECT_EQ(read_tensor_f32(checkpoint, "b"), b);
}

std::string checkpoint_error(const std::filesystem::path& dir) {
  try {
    open_checkpoint(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Checkpoint, ShardNamesMustStayInsideTheFolder) {
  auto dir = test::scratch_dir("ckpt-escape");
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map":{"a":"../elsewhere.safetensors"}})";
  EXPECT_NE(checkpoint_error(dir).find("must be a bare file name"), std::string::npos);
}

TEST(Checkpoint, TensorInTheWrongShardIsRefused) {
  auto dir = test::scratch_dir("ckpt-wrong-shard");
  std::vector<float> a = {1}, b = {2};
  write_safetensors(dir / "s1.safetensors", {make_f32_tensor("a", {1}, a)});
  write_safetensors(dir / "s2.safetensors", {make_f32_tensor("b", {1}, b)});
  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map":{"a":"s2.safetensors","b":"s1.safetensors"}})";
  EXPECT_NE(checkpoint_error(dir).find("is not in shard"), std::string::npos);
}

TEST(Checkpoint, PickleCheckpointsAreRefusedWithTheReason) {
  auto dir = test::scratch_dir("ckpt-pickle");
  std::ofstream(dir / "pytorch_model.bin") << "pickle";
  const auto message = checkpoint_error(dir);
  EXPECT_NE(message.find("pytorch_model.bin"), std::string::npos);
  EXPECT_NE(message.find("arbitrary code"), std::string::npos);
}

}  // namespace
}  // namespace moescope
