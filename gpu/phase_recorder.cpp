#include "gpu/phase_recorder.h"

#include <nvtx3/nvToolsExt.h>

#include <string>

#include "gpu/cuda_check.h"

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

void PhaseRecorder::start(cudaStream_t stream, bool timing, bool nvtx) {
  stream_ = stream;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  capturing_ = status == cudaStreamCaptureStatusActive;
  timing_ = timing;
  nvtx_ = nvtx;
  used_ = 0;
  marks_.clear();
  open_ = false;
  if (timing_) {
    step_start_ = next_event();
    record(step_start_);
  }
}

void PhaseRecorder::begin(int32_t layer, Phase phase) {
  if (nvtx_) nvtxRangePushA(std::string(phase_name(phase)).c_str());
  if (!timing_) return;
  Mark m{layer, phase, next_event(), next_event()};
  record(m.begin);
  marks_.push_back(m);
  open_ = true;
}

void PhaseRecorder::end() {
  if (nvtx_) nvtxRangePop();
  if (!timing_ || !open_) return;
  record(marks_.back().end);
  open_ = false;
}

void PhaseRecorder::report(int64_t step, ForwardObserver& observer) const {
  if (!timing_) return;
  for (const Mark& m : marks_) {
    float start_ms = 0, duration_ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&start_ms, step_start_, m.begin));
    CUDA_CHECK(cudaEventElapsedTime(&duration_ms, m.begin, m.end));
    observer.on_timing({step, m.layer, m.phase, start_ms * 1e3, duration_ms * 1e3});
  }
}

double PhaseRecorder::phase_us(int32_t layer, Phase phase) const {
  if (!timing_) return 0.0;
  double total = 0.0;
  for (const Mark& m : marks_) {
    if (m.layer != layer || m.phase != phase) continue;
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, m.begin, m.end));
    total += ms * 1e3;
  }
  return total;
}

}  // namespace moescope::gpu
