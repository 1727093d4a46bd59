// Shared by the GPU tests: whether a usable CUDA device is present (tests skip, saying why, when
// not), and the golden model's own bf16 error bound.
#pragma once

#include <cuda_runtime.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_paths.h"

namespace moescope::test {

// Empty when a GPU is usable, else CUDA's reason.
inline std::string cuda_unavailable_reason() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    return cudaGetErrorString(status);
  }
  return count == 0 ? "no CUDA device found" : "";
}

#define MOESCOPE_REQUIRE_GPU()                                                   \
  do {                                                                           \
    const std::string why = ::moescope::test::cuda_unavailable_reason();         \
    if (!why.empty()) GTEST_SKIP() << "no CUDA GPU on this machine: " << why;    \
  } while (0)

// max(2 x golden.json's bf16_vs_fp32_rel_err_logits_full, 2e-2): the bar for the CUDA engine.
inline double cuda_logits_tolerance(const std::string& model) {
  std::ifstream in(golden_model(model) / "golden.json");
  const auto json = nlohmann::json::parse(in);
  return std::max(2.0 * json.at("bf16_vs_fp32_rel_err_logits_full").get<double>(), 2e-2);
}

}  // namespace moescope::test
