#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/unsanitized.h"

namespace moescope {

namespace {

constexpr int64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail_file(const std::string& file, const std::string& what) {
  fail_input(file + ": " + what);
}

}  // namespace

int64_t dtype_size_bytes(DType dtype) {
  switch (dtype) {
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::f32: return 4;
    case DType::f8_e4m3: return 1;
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    case DType::f32: return "F32";
    case DType::f8_e4m3: return "F8_E4M3";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType d : {DType::bf16, DType::f16, DType::f32, DType::f8_e4m3, DType::i32, DType::i64}) {
    if (dtype_name(d) == name) return d;
  }
  return std::nullopt;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n = checked_mul(n, d, "tensor '" + name + "'");
  return n;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes, const std::string& file_label) {
  if (file_bytes.size() < 8) {
    fail_file(file_label, "truncated: " + std::to_string(file_bytes.size()) +
                              " bytes, a safetensors file starts with an 8-byte header length");
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_bytes.data(), 8);  // little-endian on every supported host
  const uint64_t file_size = file_bytes.size();
  if (header_len > static_cast<uint64_t>(kMaxHeaderBytes)) {
    fail_file(file_label, "header length " + std::to_string(header_len) + " exceeds the " +
                              std::to_string(kMaxHeaderBytes) + "-byte limit");
  }
  if (header_len > file_size - 8) {
    fail_file(file_label, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                              std::to_string(file_size) + " bytes): truncated or not safetensors");
  }
  SafetensorsHeader header;
  header.data_offset = static_cast<int64_t>(8 + header_len);
  const int64_t data_size = static_cast<int64_t>(file_size) - header.data_offset;

  const char* text = reinterpret_cast<const char*>(file_bytes.data() + 8);
  nlohmann::json root;
  // Duplicate keys must be rejected, which the DOM parser would silently collapse: the callback sees
  // every key of the top-level object.
  std::vector<std::string> top_keys;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key) top_keys.push_back(parsed.get<std::string>());
    return true;
  };
  try {
    root = nlohmann::json::parse(text, text + header_len, callback);
  } catch (const nlohmann::json::exception& e) {
    fail_file(file_label, std::string("header is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) fail_file(file_label, "header must be a JSON object");
  std::sort(top_keys.begin(), top_keys.end());
  auto dup = std::adjacent_find(top_keys.begin(), top_keys.end());
  if (dup != top_keys.end()) fail_file(file_label, "duplicate tensor name '" + *dup + "' in header");

  for (auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail_file(file_label, "__metadata__ must be an object of strings");
      for (auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail_file(file_label, "__metadata__ value '" + mk + "' is not a string");
        header.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (!value.is_object()) fail_file(file_label, where + " entry is not an object");
    for (auto& [field, _] : value.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        fail_file(file_label, where + " has unknown field '" + field + "'");
    }
    if (!value.contains("dtype") || !value["dtype"].is_string())
      fail_file(file_label, where + " has no dtype string");
    const std::string dtype_text = value["dtype"].get<std::string>();
    auto dtype = parse_dtype(dtype_text);
    if (!dtype)
      fail_file(file_label, where + " has unsupported dtype '" + dtype_text +
                                "' (expected BF16, F16, F32, F8_E4M3, I32 or I64)");
    if (!value.contains("shape") || !value["shape"].is_array())
      fail_file(file_label, where + " has no shape array");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() || value["data_offsets"].size() != 2)
      fail_file(file_label, where + " needs data_offsets [begin, end]");
    TensorInfo info;
    info.name = key;
    info.dtype = *dtype;
    for (auto& dim : value["shape"]) {
      if (!dim.is_number_unsigned()) fail_file(file_label, where + " has a shape entry that is not a non-negative integer");
      uint64_t d = dim.get<uint64_t>();
      if (d > static_cast<uint64_t>(INT64_MAX)) fail_file(file_label, where + " has a dimension too large");
      info.shape.push_back(static_cast<int64_t>(d));
    }
    for (auto& off : value["data_offsets"]) {
      if (!off.is_number_unsigned()) fail_file(file_label, where + " has a data offset that is not a non-negative integer");
    }
    uint64_t begin = value["data_offsets"][0].get<uint64_t>();
    uint64_t end = value["data_offsets"][1].get<uint64_t>();
    if (begin > end) fail_file(file_label, where + " has data_offsets begin > end");
    if (end > static_cast<uint64_t>(data_size))
      fail_file(file_label, where + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                ") run past the data section (" + std::to_string(data_size) + " bytes): truncated file");
    info.data_begin = static_cast<int64_t>(begin);
    info.data_end = static_cast<int64_t>(end);
    int64_t expected = checked_mul(info.numel(), dtype_size_bytes(info.dtype), file_label + " " + where);
    if (expected != info.data_end - info.data_begin)
      fail_file(file_label, where + " has shape x dtype size = " + std::to_string(expected) + " bytes but data_offsets span " +
                                std::to_string(info.data_end - info.data_begin) + " bytes");
    header.tensors.push_back(std::move(info));
  }

  // The tensors must tile the data section exactly: no gap, overlap or trailing bytes.
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return a.data_begin != b.data_begin ? a.data_begin < b.data_begin : a.data_end < b.data_end;
            });
  int64_t cursor = 0;
  for (const auto& t : header.tensors) {
    if (t.data_begin < cursor) fail_file(file_label, "tensor '" + t.name + "' overlaps the previous tensor's bytes");
    if (t.data_begin > cursor)
      fail_file(file_label, "gap of " + std::to_string(t.data_begin - cursor) + " bytes before tensor '" + t.name + "'");
    cursor = t.data_end;
  }
  if (cursor != data_size)
    fail_file(file_label, std::to_string(data_size - cursor) + " trailing bytes after the last tensor (file size " +
                              std::to_string(file_size) + " does not match the header)");
  return header;
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  require_regular_file(path);  // before open: opening a FIFO would block
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_input(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input(path.string() + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail_input(path.string() + ": cannot memory-map: " + std::strerror(err));
    }
    data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

TensorView SafetensorsFile::view(size_t index) const {
  const TensorInfo& info = header.tensors.at(index);
  return TensorView{&info, mapping->bytes().data() + header.data_offset + info.data_begin, &path};
}

std::unique_ptr<SafetensorsFile> open_safetensors(const std::filesystem::path& path) {
  auto file = std::make_unique<SafetensorsFile>();
  file->path = path.string();
  file->mapping = std::make_unique<MappedFile>(path);
  file->header = parse_safetensors_header(file->mapping->bytes(), file->path);
  return file;
}

float bf16_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_bf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float f8_e4m3_to_f32(uint8_t bits) {
  // E4M3 (fn variant, as torch.float8_e4m3fn): bias 7, no infinities, 0x7f/0xff are NaN.
  const float sign = (bits & 0x80) ? -1.0f : 1.0f;
  const int exp = (bits >> 3) & 0xf;
  const int mant = bits & 0x7;
  if (exp == 0xf && mant == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant) / 8.0f, -6);
  return sign * std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
}

// The weights' widening loop: the engine reads every weight row through it (core/unsanitized.h).
MOESCOPE_UNSANITIZED_HOT_LOOP void convert_to_f32(const TensorView& view, int64_t first, int64_t count, float* out) {
  const std::byte* base = view.data;
  switch (view.dtype()) {
    case DType::bf16: {
      for (int64_t i = 0; i < count; ++i) {
        uint16_t b;
        std::memcpy(&b, base + (first + i) * 2, 2);
        out[i] = bf16_to_f32(b);
      }
      break;
    }
    case DType::f16: {
      for (int64_t i = 0; i < count; ++i) {
        uint16_t b;
        std::memcpy(&b, base + (first + i) * 2, 2);
        out[i] = f16_to_f32(b);
      }
      break;
    }
    case DType::f32: std::memcpy(out, base + first * 4, static_cast<size_t>(count) * 4); break;
    case DType::f8_e4m3: {
      for (int64_t i = 0; i < count; ++i) out[i] = f8_e4m3_to_f32(static_cast<uint8_t>(base[first + i]));
      break;
    }
    case DType::i32: {
      for (int64_t i = 0; i < count; ++i) {
        int32_t v;
        std::memcpy(&v, base + (first + i) * 4, 4);
        out[i] = static_cast<float>(v);
      }
      break;
    }
    case DType::i64: {
      for (int64_t i = 0; i < count; ++i) {
        int64_t v;
        std::memcpy(&v, base + (first + i) * 8, 8);
        out[i] = static_cast<float>(v);
      }
      break;
    }
  }
}

OutputTensor make_f32_tensor(std::string name, std::vector<int64_t> shape, std::span<const float> values) {
  OutputTensor t{std::move(name), DType::f32, std::move(shape), {}};
  t.bytes.resize(values.size_bytes());
  std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
  return t;
}

OutputTensor make_i32_tensor(std::string name, std::vector<int64_t> shape, std::span<const int32_t> values) {
  OutputTensor t{std::move(name), DType::i32, std::move(shape), {}};
  t.bytes.resize(values.size_bytes());
  std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
  return t;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<OutputTensor>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  int64_t offset = 0;
  for (const auto& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n = checked_mul(n, d, "output tensor " + t.name);
    if (checked_mul(n, dtype_size_bytes(t.dtype), t.name) != static_cast<int64_t>(t.bytes.size()))
      throw std::logic_error("write_safetensors: " + t.name + " byte size does not match its shape");
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + static_cast<int64_t>(t.bytes.size())}}};
    offset += static_cast<int64_t>(t.bytes.size());
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep the data section 8-byte aligned
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail_input(path.string() + ": cannot write");
    uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    if (!out.flush()) fail_input(path.string() + ": write failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace moescope
