// Focus: NaN/Inf in weights. check_weights_finite refuses a checkpoint holding a non-finite value in
// any floating tensor (BF16, F16, F32, F8_E4M3), naming the tensor, its file, the first element and
// how many tensors are affected; clean checkpoints (the goldens) pass; load_model runs the check.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/model.h"
#include "core/weight_check.h"
#include "tests/support/checkpoint_edit.h"
#include "tests/support/cli_checks.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

OutputTensor raw_tensor(std::string name, DType dtype, std::vector<int64_t> shape, std::vector<std::byte> bytes) {
  return {std::move(name), dtype, std::move(shape), std::move(bytes)};
}

template <typename Bits>
std::vector<std::byte> bit_patterns(size_t n, Bits fill, size_t bad_at, Bits bad) {
  std::vector<Bits> bits(n, fill);
  if (bad_at < n) bits[bad_at] = bad;
  std::vector<std::byte> bytes(n * sizeof(Bits));
  std::memcpy(bytes.data(), bits.data(), bytes.size());
  return bytes;
}

// A single-file checkpoint folder holding `tensors`.
fs::path checkpoint_with(const std::string& label, const std::vector<OutputTensor>& tensors) {
  auto dir = test::scratch_dir("weights-" + label);
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

std::string check_message(const fs::path& dir) {
  const auto checkpoint = open_checkpoint(dir);
  try {
    check_weights_finite(checkpoint);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const std::vector<float> kClean = {0.5f, -1.0f, 2.0f, 0.0f};

TEST(WeightCheck, Case1_GoldenCheckpointsAreClean) {
  for (const auto& name : test::kGoldenModels) EXPECT_EQ(check_message(test::golden_model(name)), "") << name;
}

TEST(WeightCheck, Case2_Bf16NaNIsNamedWithFileTensorAndElement) {
  auto dir = checkpoint_with("bf16", {make_f32_tensor("model.norm.weight", {4}, kClean),
                                      raw_tensor("model.layers.0.mlp.gate.weight", DType::bf16, {2, 3},
                                                 bit_patterns<uint16_t>(6, 0x3f80, 4, 0x7fc1))});
  EXPECT_EQ(check_message(dir), (dir / "model.safetensors").string() +
                                    ": tensor 'model.layers.0.mlp.gate.weight' holds NaN at element 4 of 6 (1 tensor holds NaN or Inf)");
}

TEST(WeightCheck, Case3_InfinitiesInF32AndF16) {
  std::vector<float> inf = kClean;
  inf[3] = -std::numeric_limits<float>::infinity();
  auto dir = checkpoint_with("f32", {make_f32_tensor("a", {4}, inf)});
  EXPECT_NE(check_message(dir).find("tensor 'a' holds Inf at element 3 of 4"), std::string::npos) << check_message(dir);

  auto dir16 = checkpoint_with("f16", {raw_tensor("h", DType::f16, {5}, bit_patterns<uint16_t>(5, 0x3c00, 0, 0x7c00))});
  EXPECT_NE(check_message(dir16).find("tensor 'h' holds Inf at element 0 of 5"), std::string::npos) << check_message(dir16);
  auto nan16 = checkpoint_with("f16nan", {raw_tensor("h", DType::f16, {5}, bit_patterns<uint16_t>(5, 0x3c00, 2, 0xfe00))});
  EXPECT_NE(check_message(nan16).find("tensor 'h' holds NaN at element 2 of 5"), std::string::npos) << check_message(nan16);
}

TEST(WeightCheck, Case4_F8E4M3NaNAndItsLargestFiniteValue) {
  // 0x7e is 448, E4M3FN's largest finite value; 0xff is NaN.
  auto fine = checkpoint_with("f8ok", {raw_tensor("q", DType::f8_e4m3, {3}, bit_patterns<uint8_t>(3, 0x7e, 3, 0))});
  EXPECT_EQ(check_message(fine), "");
  auto bad = checkpoint_with("f8nan", {raw_tensor("q", DType::f8_e4m3, {3}, bit_patterns<uint8_t>(3, 0x7e, 1, 0xff))});
  EXPECT_NE(check_message(bad).find("tensor 'q' holds NaN at element 1 of 3"), std::string::npos) << check_message(bad);
}

TEST(WeightCheck, Case5_FirstTensorByNameIsReportedWithTheCount) {
  std::vector<float> nan = kClean;
  nan[1] = std::numeric_limits<float>::quiet_NaN();
  auto dir = checkpoint_with("many", {make_f32_tensor("z.weight", {4}, nan), make_f32_tensor("b.weight", {4}, kClean),
                                      make_f32_tensor("m.weight", {4}, nan)});
  EXPECT_NE(check_message(dir).find("tensor 'm.weight' holds NaN at element 1 of 4 (2 tensors hold NaN or Inf)"), std::string::npos)
      << check_message(dir);
}

TEST(WeightCheck, Case6_LargeTensorSplitAcrossThreadsFindsTheFirstBadElement) {
  // 3.5 chunks of 2^20 elements: the scan is split, and the earliest of two bad values wins.
  const size_t n = (size_t{7} << 20) / 2;
  std::vector<float> values(n, 1.0f);
  values[n - 1] = std::numeric_limits<float>::infinity();
  values[(size_t{5} << 20) / 2 + 3] = std::numeric_limits<float>::quiet_NaN();
  auto dir = checkpoint_with("large", {make_f32_tensor("model.embed_tokens.weight", {static_cast<int64_t>(n)}, values)});
  EXPECT_NE(check_message(dir).find("holds NaN at element " + std::to_string((size_t{5} << 20) / 2 + 3) + " of " + std::to_string(n)),
            std::string::npos)
      << check_message(dir);
}

TEST(WeightCheck, Case7_IntegerTensorsAreNotScanned) {
  const std::vector<int32_t> ids = {0x7fffffff, -1, 0x7f800000};
  auto dir = checkpoint_with("ints", {make_i32_tensor("input_ids", {3}, ids)});
  EXPECT_EQ(check_message(dir), "");
}

TEST(WeightCheck, Case8_LoadModelRefusesAGoldenCheckpointWithANaN) {
  auto dir = test::copy_golden_checkpoint("mixtral-tiny", "weights-load");
  test::set_bf16_element(dir / "model.safetensors", "model.layers.1.block_sparse_moe.experts.2.w1.weight", 10, 0x7fc0);  // NaN
  try {
    load_model(dir);
    FAIL() << "a NaN weight was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model.layers.1.block_sparse_moe.experts.2.w1.weight' holds NaN at element 10"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace moescope
