// safetensors files: strict header validation, memory-mapped tensor data, and a writer.
//
// Rules (stricter than the reference where it has gaps): header length <= 100,000,000 bytes and
// inside the file; JSON object whose entries are tensors {dtype, shape, data_offsets} or the
// `__metadata__` map of strings; duplicate names rejected; element counts in checked arithmetic;
// byte length = count x dtype size; tensors tile the data buffer exactly from 0, with no gap,
// overlap or trailing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

enum class DType : uint8_t { bf16, f16, f32, f8_e4m3, i32, i64 };

int64_t dtype_size_bytes(DType dtype);
std::string_view dtype_name(DType dtype);  // as spelled in safetensors headers: "BF16", ...
std::optional<DType> parse_dtype(std::string_view name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  int64_t data_begin = 0;  // byte offsets relative to the start of the data section
  int64_t data_end = 0;
  int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data order (sorted by data_begin)
  std::map<std::string, std::string> metadata;
  int64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
};

// Validates `file_bytes` (the whole file) as safetensors. `file_label` names the file in errors.
// Pure function over bytes: this is the fuzz target.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::string& file_label);

// A read-only memory mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// A borrowed view of one tensor's bytes inside a mapped file.
struct TensorView {
  const TensorInfo* info = nullptr;
  const std::byte* data = nullptr;
  const std::string* file = nullptr;  // the file it lives in, for error messages
  const std::string& name() const { return info->name; }
  DType dtype() const { return info->dtype; }
  const std::vector<int64_t>& shape() const { return info->shape; }
  int64_t numel() const { return info->numel(); }
  int64_t nbytes() const { return info->data_end - info->data_begin; }
};

struct SafetensorsFile {
  std::string path;  // as opened, for messages
  std::unique_ptr<MappedFile> mapping;
  SafetensorsHeader header;
  TensorView view(size_t index) const;
};

// Heap-allocated so TensorViews (which point at `path` and `header`) stay valid when it moves.
std::unique_ptr<SafetensorsFile> open_safetensors(const std::filesystem::path& path);

// Element conversions used by every upcast path.
float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);  // round to nearest even
float f16_to_f32(uint16_t bits);
float f8_e4m3_to_f32(uint8_t bits);

// Converts `count` elements starting at element `first` of `view` to float32 (BF16, F16, F32,
// F8_E4M3 without scales, I32, I64).
void convert_to_f32(const TensorView& view, int64_t first, int64_t count, float* out);

struct OutputTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;
};
OutputTensor make_f32_tensor(std::string name, std::vector<int64_t> shape, std::span<const float> values);
OutputTensor make_i32_tensor(std::string name, std::vector<int64_t> shape, std::span<const int32_t> values);

// Writes a valid safetensors file (tensors in the given order), atomically via a temp file + rename.
void write_safetensors(const std::filesystem::path& path, const std::vector<OutputTensor>& tensors);

}  // namespace moescope
