#include "tests/support/golden.h"

#include <cmath>
#include <stdexcept>

#include "tests/support/test_paths.h"

namespace moescope::test {

GoldenFile open_golden(const std::string& model_name) {
  return GoldenFile{open_safetensors(golden_model(model_name) / "golden.safetensors")};
}

bool GoldenFile::has(const std::string& name) const {
  for (const auto& t : file->header.tensors)
    if (t.name == name) return true;
  return false;
}

std::vector<float> GoldenFile::f32(const std::string& name) const {
  for (size_t i = 0; i < file->header.tensors.size(); ++i) {
    if (file->header.tensors[i].name != name) continue;
    TensorView view = file->view(i);
    std::vector<float> out(static_cast<size_t>(view.numel()));
    convert_to_f32(view, 0, view.numel(), out.data());
    return out;
  }
  throw std::runtime_error("golden tensor not found: " + name);
}

std::vector<int32_t> GoldenFile::i32(const std::string& name) const {
  std::vector<int32_t> out;
  for (float v : f32(name)) out.push_back(static_cast<int32_t>(std::lround(v)));
  return out;
}

std::vector<int64_t> GoldenFile::shape(const std::string& name) const {
  for (const auto& t : file->header.tensors)
    if (t.name == name) return t.shape;
  throw std::runtime_error("golden tensor not found: " + name);
}

double relative_error(const std::vector<float>& out, const std::vector<float>& ref) {
  if (out.size() != ref.size()) return INFINITY;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff += (static_cast<double>(out[i]) - ref[i]) * (static_cast<double>(out[i]) - ref[i]);
    norm += static_cast<double>(ref[i]) * ref[i];
  }
  return std::sqrt(diff) / std::sqrt(norm);
}

double topk_set_agreement(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int64_t k) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  const size_t rows = a.size() / static_cast<size_t>(k);
  size_t same = 0;
  for (size_t r = 0; r < rows; ++r) {
    std::set<int32_t> sa(a.begin() + r * k, a.begin() + (r + 1) * k), sb(b.begin() + r * k, b.begin() + (r + 1) * k);
    same += sa == sb;
  }
  return static_cast<double>(same) / static_cast<double>(rows);
}

}  // namespace moescope::test
