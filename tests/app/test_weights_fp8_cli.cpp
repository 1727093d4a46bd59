// Focus: `--weights fp8` as a user gives it to `forward`: the bf16 DeepSeek-V3 golden model runs with
// its linear weights quantised at load (other logits than the stored weights give, same shape), and
// an unknown format gets one clear line (the CUDA engine takes fp8 too: tests/gpu/test_cuda_fp8.cpp).
#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "tests/support/cli_checks.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

std::vector<float> read_logits(const std::filesystem::path& file) {
  auto st = open_safetensors(file);
  for (size_t i = 0; i < st->header.tensors.size(); ++i) {
    if (st->header.tensors[i].name != "logits") continue;
    const TensorView view = st->view(i);
    std::vector<float> out(static_cast<size_t>(view.numel()));
    convert_to_f32(view, 0, view.numel(), out.data());
    return out;
  }
  ADD_FAILURE() << file << " has no logits";
  return {};
}

TEST(WeightsFp8Cli, ForwardQuantisesAtLoad) {
  const auto dir = test::scratch_dir("weights-fp8");
  const std::string base = test::moescope_binary().string() + " forward --model " +
                           test::golden_model("deepseek-v3-tiny").string() + " --token-ids 3,17,250,9";
  auto stored = test::run_command(base + " --out " + (dir / "stored.safetensors").string() + " 2>&1");
  ASSERT_EQ(stored.exit_code, 0) << stored.output;
  auto fp8 = test::run_command(base + " --weights fp8 --out " + (dir / "fp8.safetensors").string() + " 2>&1");
  ASSERT_EQ(fp8.exit_code, 0) << fp8.output;
  const auto a = read_logits(dir / "stored.safetensors"), b = read_logits(dir / "fp8.safetensors");
  ASSERT_EQ(a.size(), b.size());
  const double err = test::relative_error(b, a);
  EXPECT_GT(err, 0.0);
  EXPECT_LT(err, 0.5);

  const std::string out = " --out " + (dir / "x.safetensors").string() + " 2>&1";
  test::expect_one_clear_line(test::run_command(base + " --weights int4" + out),
                              "--weights int4: expected stored or fp8");
}

}  // namespace
}  // namespace moescope
