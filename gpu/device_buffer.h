// Owning handles for device and pinned host memory. Sizes are in bytes; typed views are taken at the
// use site, where the shape comment lives.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace moescope::gpu {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer(std::move(other)).swap(*this);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <class T>
  T* as() const { return static_cast<T*>(data_); }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& other) noexcept { swap(other); }
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    PinnedBuffer(std::move(other)).swap(*this);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  template <class T>
  T* as() const { return static_cast<T*>(data_); }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  void swap(PinnedBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Hands out aligned slices of one device allocation; two passes (measure, then place) share the
// same code so the byte count checked against free memory is the one actually allocated.
class ArenaPlanner {
 public:
  // Returns the offset for `bytes` and advances; alignment 256 bytes (cuBLAS and 16-byte loads).
  size_t take(size_t bytes) {
    size_t offset = used_;
    used_ += (bytes + 255) / 256 * 256;
    return offset;
  }
  size_t used() const { return used_; }

 private:
  size_t used_ = 0;
};

}  // namespace moescope::gpu
