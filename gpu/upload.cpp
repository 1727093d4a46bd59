// Streams checkpoint weights from the memory-mapped safetensors into the device arena through two
// pinned staging buffers: while one is copied to the GPU the other is filled, so the disk/page cache
// read and the PCIe transfer overlap.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fp8_block_quant.h"
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

// Offloaded experts go straight into the pinned host arena: Stager's interface, no copy.
class HostSink {
 public:
  explicit HostSink(char* base) : base_(base) {}
  std::pair<char*, size_t> reserve(size_t dst, size_t want) { return {base_ + dst, want}; }
  void commit(size_t) {}

 private:
  char* base_;
};

template <class Sink>
void stage_bytes(Sink& stager, const void* bytes, size_t total, size_t dst) {
  const char* src = static_cast<const char*>(bytes);
  for (size_t done = 0; done < total;) {
    auto [ptr, n] = stager.reserve(dst + done, total - done);
    std::memcpy(ptr, src + done, n);
    stager.commit(n);
    done += n;
  }
}

std::vector<float> tensor_f32(const TensorView& view) {
  std::vector<float> out(static_cast<size_t>(view.numel()));
  convert_to_f32(view, 0, view.numel(), out.data());
  return out;
}

// An F8_E4M3 weight times its block scales, from the views themselves: the model may hold tensors
// quantised at load (core/model_fp8.h) that its checkpoint does not have.
std::vector<float> dequantised_f32(const TensorView& view, const TensorView& scale_inv) {
  Fp8BlockWeight w;
  w.rows = view.shape().at(0);
  w.cols = view.shape().at(1);
  const auto* bits = reinterpret_cast<const uint8_t*>(view.data);
  w.values.assign(bits, bits + view.numel());
  w.scales = tensor_f32(scale_inv);
  return dequantize_fp8_blocks(w);
}

// An fp8 placement: each source's e4m3 bytes as they are, then the scales in the placement's
// layout (the sources' blocks stacked, or with scale_rows 1 each row's block scales).
template <class Sink>
void stage_fp8(Sink& stager, const Placement& p) {
  size_t dst = p.offset;
  std::vector<float> scales;
  const int64_t scale_cols = fp8_scale_cols(p.cols);
  for (const WeightMatrix* m : p.matrices) {
    stage_bytes(stager, m->weight->data, static_cast<size_t>(m->weight->numel()), dst);
    dst += static_cast<size_t>(m->weight->numel());
    const std::vector<float> own = tensor_f32(*m->scale_inv);
    if (p.scale_rows == kFp8ScaleCols) {
      scales.insert(scales.end(), own.begin(), own.end());
      continue;
    }
    for (int64_t r = 0; r < m->rows; ++r) {
      const auto row = own.begin() + (r / kFp8ScaleCols) * scale_cols;
      scales.insert(scales.end(), row, row + scale_cols);
    }
  }
  stage_bytes(stager, scales.data(), scales.size() * sizeof(float), p.scale_offset);
}

// Writes `count` elements of `view` (converted to bf16 or f32) at device offset `dst`.
template <class Sink>
void stage_tensor(Sink& stager, const TensorView& view,
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
  if (view.dtype() == DType::f8_e4m3 && scale_inv) dequantised = dequantised_f32(view, *scale_inv);
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

template <class Sink>
void stage_placement(Sink& stager, const Placement& p) {
  if (p.fp8) {
    stage_fp8(stager, p);
    return;
  }
  size_t dst = p.offset;
  for (const WeightMatrix* m : p.matrices) {
    stage_tensor(stager, *m->weight, m->scale_inv, false, dst);
    dst += static_cast<size_t>(m->weight->numel()) * 2;
  }
  for (const Vector1D* v : p.vectors) {
    stage_tensor(stager, *v->weight, nullptr, true, dst);
    dst += static_cast<size_t>(v->weight->numel()) * 4;
  }
}

}  // namespace

DeviceModel upload_model(const Model& model, cudaStream_t stream, const LoadProgress& progress, bool fp8,
                         bool experts_on_host) {
  DeviceModel out;
  const LayoutPlan sizes = plan_device_layout(model.config, &model.weights, nullptr, out, fp8, experts_on_host);
  const size_t bytes = sizes.bytes;
  out.arena = DeviceBuffer(bytes);
  out.bytes = bytes;
  if (experts_on_host) out.host_experts = pin_expert_memory(sizes.host_bytes);
  char* base = out.arena.as<char>();
  LayoutPlan plan =
      plan_device_layout(model.config, &model.weights, base, out, fp8, experts_on_host, out.host_experts.as<char>());

  Stager stager(base, stream, static_cast<int64_t>(bytes), progress);
  HostSink host(out.host_experts.as<char>());
  for (const Placement& p : plan.placements) {
    if (p.host) {
      stage_placement(host, p);
    } else {
      stage_placement(stager, p);
    }
  }
  stager.flush();
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace moescope::gpu
