#include "gpu/phase_recorder.h"

#include <nvtx3/nvToolsExt.h>

#include <string>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/kernels.h"

namespace moescope::gpu {

PhaseRecorder::~PhaseRecorder() {
  for (cudaEvent_t e : pool_) cudaEventDestroy(e);
}

cudaEvent_t PhaseRecorder::next_event() {
  if (used_ == pool_.size()) {
    cudaEvent_t e = nullptr;
    CUDA_CHECK(cudaEventCreate(&e));
    pool_.push_back(e);
  }
  return pool_[used_++];
}

void PhaseRecorder::record(cudaEvent_t event) {
  if (capturing_) {
    CUDA_CHECK(cudaEventRecordWithFlags(event, stream_, cudaEventRecordExternal));
  } else {
    CUDA_CHECK(cudaEventRecord(event, stream_));
  }
}

void PhaseRecorder::reserve_clock(int32_t slots) {
  if (capacity_ >= slots) return;
  stamps_ = DeviceBuffer(static_cast<size_t>(slots) * sizeof(uint64_t));
  stamps_host_ = PinnedBuffer(static_cast<size_t>(slots) * sizeof(uint64_t));
  capacity_ = slots;
}

void PhaseRecorder::start(cudaStream_t stream, bool timing, bool nvtx, bool clock) {
  stream_ = stream;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  capturing_ = status == cudaStreamCaptureStatusActive;
  timing_ = timing;
  nvtx_ = nvtx;
  used_ = 0;
  marks_.clear();
  open_ = false;
  clock_ = clock && capturing_ && timing;
  clock_marks_.clear();
  used_slots_ = 0;
  last_slot_ = -1;
  last_stamp_node_ = nullptr;
  if (clock_) {
    start_slot_ = stamp();
    return;
  }
  if (timing_) {
    step_start_ = next_event();
    record(step_start_);
  }
}

int32_t PhaseRecorder::stamp() {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaGraphNode_t* deps = nullptr;
  size_t n_deps = 0;
  CUDA_CHECK(cudaStreamGetCaptureInfo(stream_, &status, nullptr, nullptr, &deps, nullptr, &n_deps));
  if (last_stamp_node_ && n_deps == 1 && deps[0] == last_stamp_node_) return last_slot_;
  if (used_slots_ >= capacity_)
    throw ResourceError("CUDA engine: phase clock ran out of its " + std::to_string(capacity_) + " stamp slots");
  const int32_t slot = used_slots_++;
  launch_clock_stamp(stamps_.as<uint64_t>() + slot, stream_);
  CUDA_CHECK(cudaStreamGetCaptureInfo(stream_, &status, nullptr, nullptr, &deps, nullptr, &n_deps));
  last_stamp_node_ = n_deps == 1 ? deps[0] : nullptr;
  last_slot_ = slot;
  return slot;
}

void PhaseRecorder::finish() {
  if (!clock_ || used_slots_ == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(stamps_host_.data(), stamps_.data(), static_cast<size_t>(used_slots_) * sizeof(uint64_t),
                             cudaMemcpyDeviceToHost, stream_));
}

double PhaseRecorder::clock_us(int32_t from, int32_t to) const {
  const uint64_t* t = stamps_host_.as<uint64_t>();
  return static_cast<double>(static_cast<int64_t>(t[to] - t[from])) * 1e-3;
}

void PhaseRecorder::begin(int32_t layer, Phase phase) {
  if (nvtx_) nvtxRangePushA(std::string(phase_name(phase)).c_str());
  if (clock_) {
    clock_marks_.push_back({layer, phase, stamp(), -1});
    open_ = true;
    return;
  }
  if (!timing_) return;
  Mark m{layer, phase, next_event(), next_event()};
  record(m.begin);
  marks_.push_back(m);
  open_ = true;
}

void PhaseRecorder::end() {
  if (nvtx_) nvtxRangePop();
  if (clock_ && open_) {
    clock_marks_.back().end = stamp();
    open_ = false;
    return;
  }
  if (!timing_ || !open_) return;
  record(marks_.back().end);
  open_ = false;
}

void PhaseRecorder::report(int64_t step, ForwardObserver& observer) const {
  if (clock_) {
    for (const ClockMark& m : clock_marks_)
      observer.on_timing({step, m.layer, m.phase, clock_us(start_slot_, m.begin), clock_us(m.begin, m.end)});
    return;
  }
  if (!timing_) return;
  for (const Mark& m : marks_) {
    float start_ms = 0, duration_ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&start_ms, step_start_, m.begin));
    CUDA_CHECK(cudaEventElapsedTime(&duration_ms, m.begin, m.end));
    observer.on_timing({step, m.layer, m.phase, start_ms * 1e3, duration_ms * 1e3});
  }
}

double PhaseRecorder::phase_us(int32_t layer, Phase phase) const {
  double total = 0.0;
  if (clock_) {
    for (const ClockMark& m : clock_marks_)
      if (m.layer == layer && m.phase == phase) total += clock_us(m.begin, m.end);
    return total;
  }
  if (!timing_) return 0.0;
  for (const Mark& m : marks_) {
    if (m.layer != layer || m.phase != phase) continue;
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, m.begin, m.end));
    total += ms * 1e3;
  }
  return total;
}

}  // namespace moescope::gpu
