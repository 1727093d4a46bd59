// Focus: the expert-offloading flags as a user gives them (`--offload-experts`, `--expert-cache-slots`,
// `--offload-policy`, `--offload-prefetch`): outside their one meaning they are refused in one clear line before anything
// runs. What offloading computes is checked on a GPU (tests/gpu/test_cuda_offload.cpp).
#include <gtest/gtest.h>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

std::string offload_forward(const std::string& flags) {
  const auto out = test::scratch_dir("offload-flags") / "x.safetensors";
  return test::moescope_binary().string() + " forward --model " + test::golden_model("mixtral-tiny").string() +
         " --token-ids 3,17 --out " + out.string() + " " + flags + " 2>&1";
}

// 1. The CPU engine holds every expert in host memory already: offloading is a CUDA option.
TEST(OffloadFlagsCli, OffloadOnTheCpuBackendIsRefused) {
  test::expect_one_clear_line(test::run_command(offload_forward("--offload-experts")),
                              "--offload-experts keeps experts in host memory for the cuda backend");
}

// 2. A cache size, policy or prefetch without --offload-experts would be silently ignored: refused instead.
TEST(OffloadFlagsCli, CacheFlagsNeedOffloadExperts) {
  const std::string need = "--expert-cache-slots, --offload-policy and --offload-prefetch need --offload-experts";
  test::expect_one_clear_line(test::run_command(offload_forward("--expert-cache-slots 2")), need);
  test::expect_one_clear_line(test::run_command(offload_forward("--offload-policy lfu")), need);
  test::expect_one_clear_line(test::run_command(offload_forward("--offload-prefetch")), need);
}

}  // namespace
}  // namespace moescope
