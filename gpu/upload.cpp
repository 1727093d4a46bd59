// Streams checkpoint weights from the memory-mapped safetensors into the device arena through two
// pinned staging buffers: while one is copied to the GPU the other is filled, so the disk/page cache
// read and the PCIe transfer overlap.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/model.h"
#include "core/safetensors.h"
#include "gpu/cuda_check.h"
#include "gpu/device_layout.h"

namespace moescope::gpu {
namespace {

constexpr size_t kStagingBytes = size_t{64} << 20;

class Stager {
 public:
  Stager(char* device_base, cudaStream_t stream, int64_t total, const LoadProgress& progress)
      : device_base_(device_base), stream_(stream), total_(total), progress_(progress) {
    for (auto& b : buffers_) b = PinnedBuffer(kStagingBytes);
    for (auto& e : events_) CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  }
  ~Stager() {
    for (auto& e : events_) cudaEventDestroy(e);
  }

  // Reserves up to `want` bytes of staging for device offset `dst`; returns the host pointer and
  // how many bytes may be written there.
  std::pair<char*, size_t> reserve(size_t dst, size_t want) {
    if (fill_ > 0 && (dst != chunk_dst_ + fill_ || fill_ == kStagingBytes)) flush();
    if (fill_ == 0) chunk_dst_ = dst;
    size_t n = std::min(want, kStagingBytes - fill_);
    return {buffers_[current_].as<char>() + fill_, n};
  }
  void commit(size_t n) { fill_ += n; }

  void flush() {
    if (fill_ == 0) return;
    CUDA_CHECK(cudaMemcpyAsync(device_base_ + chunk_dst_, buffers_[current_].data(), fill_,
                               cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaEventRecord(events_[current_], stream_));
    done_ += static_cast<int64_t>(fill_);
    if (progress_) progress_(done_, total_);
    current_ ^= 1;
    CUDA_CHECK(cudaEventSynchronize(events_[current_]));  // the buffer we fill next is free again
    fill_ = 0;
  }

 private:
  char* device_base_;
  cudaStream_t stream_;
  int64_t total_;
  const LoadProgress& progress_;
  std::array<PinnedBuffer, 2> buffers_;
  std::array<cudaEvent_t, 2> events_{};
  int current_ = 0;
  size_t fill_ = 0;
  size_t chunk_dst_ = 0;
  int64_t done_ = 0;
};

// Writes `count` elements of `view` (converted to bf16 or f32) at device offset `dst`.
void stage_tensor(Stager& stager, const Checkpoint& checkpoint, const TensorView& view,
                  const TensorView* scale_inv, bool to_f32, size_t dst) {
  const int64_t count = view.numel();
  const size_t out_size = to_f32 ? 4 : 2;
  const bool same = (to_f32 && view.dtype() == DType::f32) || (!to_f32 && view.dtype() == DType::bf16);
  if (same) {
    const char* src = reinterpret_cast<const char*>(view.data);
    size_t total = static_cast<size_t>(count) * out_size;
    for (size_t done = 0; done < total;) {
      auto [ptr, n] = stager.reserve(dst + done, total - done);
      std::memcpy(ptr, src + done, n);
      stager.commit(n);
      done += n;
    }
    return;
  }
  std::vector<float> dequantised;
  if (view.dtype() == DType::f8_e4m3 && scale_inv) dequantised = read_tensor_f32(checkpoint, view.name());
  std::vector<float> tmp;
  for (int64_t first = 0; first < count;) {
    auto [ptr, bytes] = stager.reserve(dst + static_cast<size_t>(first) * out_size,
                                       static_cast<size_t>(count - first) * out_size);
    int64_t n = static_cast<int64_t>(bytes / out_size);
    const float* values = nullptr;
    if (!dequantised.empty()) {
      values = dequantised.data() + first;
    } else {
      tmp.resize(static_cast<size_t>(n));
      convert_to_f32(view, first, n, tmp.data());
      values = tmp.data();
    }
    if (to_f32) {
      std::memcpy(ptr, values, static_cast<size_t>(n) * 4);
    } else {
      auto* out = reinterpret_cast<uint16_t*>(ptr);
      for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(values[i]);
    }
    stager.commit(static_cast<size_t>(n) * out_size);
    first += n;
  }
}

}  // namespace

DeviceModel upload_model(const Model& model, cudaStream_t stream, const LoadProgress& progress) {
  DeviceModel out;
  size_t bytes = plan_device_layout(model.config, &model.weights, nullptr, out).bytes;
  out.arena = DeviceBuffer(bytes);
  out.bytes = bytes;
  char* base = out.arena.as<char>();
  LayoutPlan plan = plan_device_layout(model.config, &model.weights, base, out);

  Stager stager(base, stream, static_cast<int64_t>(bytes), progress);
  for (const Placement& p : plan.placements) {
    size_t dst = p.offset;
    for (const WeightMatrix* m : p.matrices) {
      stage_tensor(stager, model.checkpoint, *m->weight, m->scale_inv, false, dst);
      dst += static_cast<size_t>(m->weight->numel()) * 2;
    }
    for (const Vector1D* v : p.vectors) {
      stage_tensor(stager, model.checkpoint, *v->weight, nullptr, true, dst);
      dst += static_cast<size_t>(v->weight->numel()) * 4;
    }
  }
  stager.flush();
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace moescope::gpu
