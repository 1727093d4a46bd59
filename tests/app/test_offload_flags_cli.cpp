// Focus: the expert-offloading flags as a user gives them (`--offload-experts`, `--expert-cache-slots`,
// `--offload-policy`): outside their one meaning they are refused in one clear line before anything
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

// 2. A cache size or policy without --offload-experts would be silently ignored: refused instead.
TEST(OffloadFlagsCli, CacheFlagsNeedOffloadExperts) {
  test::expect_one_clear_line(test::run_command(offload_forward("--expert-cache-slots 2")),
                              "--expert-cache-slots and --offload-policy need --offload-experts");
  test::expect_one_clear_line(test::run_command(offload_forward("--offload-policy lfu")),
                              "--expert-cache-slots and --offload-policy need --offload-experts");
}

}  // namespace
}  // namespace moescope
