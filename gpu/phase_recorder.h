// Per-phase GPU timings from CUDA events, and NVTX ranges named by phase_name(). Inside a captured
// decode graph events are recorded as external event nodes: the graph re-records them on every
// replay and the marks stay valid.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "core/observer.h"

namespace moescope::gpu {

class PhaseRecorder {
 public:
  PhaseRecorder() = default;
  ~PhaseRecorder();
  PhaseRecorder(const PhaseRecorder&) = delete;
  PhaseRecorder& operator=(const PhaseRecorder&) = delete;

  // Starts a step; `timing` false makes begin/end only NVTX ranges (or nothing when `nvtx` false).
  void start(cudaStream_t stream, bool timing, bool nvtx);
  void begin(int32_t layer, Phase phase);
  void end();
  // After the step's work has completed: the timings, relative to start().
  void report(int64_t step, ForwardObserver& observer) const;
  // After the step's work has completed: microseconds of `layer`'s `phase` marks, summed (0
  // without timing).
  double phase_us(int32_t layer, Phase phase) const;

 private:
  cudaEvent_t next_event();
  struct Mark {
    int32_t layer;
    Phase phase;
    cudaEvent_t begin;
    cudaEvent_t end;
  };
  void record(cudaEvent_t event);
  cudaStream_t stream_ = nullptr;
  bool capturing_ = false;  // inside a graph capture events must be recorded as external nodes
  bool timing_ = false;
  bool nvtx_ = false;
  std::vector<cudaEvent_t> pool_;
  size_t used_ = 0;
  cudaEvent_t step_start_ = nullptr;
  std::vector<Mark> marks_;
  bool open_ = false;
};

}  // namespace moescope::gpu
