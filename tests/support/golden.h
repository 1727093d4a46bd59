// Reading the golden fixtures (tests/fixtures/golden/models/<name>/golden.safetensors) and comparing
// against them with the README's measure: relative L2 error over the whole tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace moescope::test {

struct GoldenFile {
  std::unique_ptr<SafetensorsFile> file;
  bool has(const std::string& name) const;
  std::vector<float> f32(const std::string& name) const;
  std::vector<int32_t> i32(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;
};

GoldenFile open_golden(const std::string& model_name);

// ||out - ref||_2 / ||ref||_2
double relative_error(const std::vector<float>& out, const std::vector<float>& ref);

// Share of rows whose top-k id sets agree; ids (rows, k) each.
double topk_set_agreement(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int64_t k);

inline const std::vector<std::string> kGoldenModels = {"mixtral-tiny", "deepseek-v3-tiny", "deepseek-v2-lite-tiny",
                                                       "qwen3-moe-tiny"};

}  // namespace moescope::test
