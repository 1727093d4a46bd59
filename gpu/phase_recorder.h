// Per-phase GPU timings from CUDA events, and NVTX ranges named by phase_name(). Inside a captured
// decode graph events are recorded as external event nodes: the graph re-records them on every
// replay and the marks stay valid.
//
// Clock mode (--device-capture, graph capture only): a mark is a %globaltimer stamp kernel writing a
// device slot instead of an event pair, and marks with no captured work between them share one
// stamp (an empty phase, or one phase ending where the next begins, costs nothing); finish()
// captures one copy of the slots to pinned memory, which report() reads after the step.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/observer.h"
#include "gpu/device_buffer.h"

namespace moescope::gpu {

class PhaseRecorder {
 public:
  PhaseRecorder() = default;
  ~PhaseRecorder();
  PhaseRecorder(const PhaseRecorder&) = delete;
  PhaseRecorder& operator=(const PhaseRecorder&) = delete;

  // Room for `slots` clock stamps: called before a capture (nothing is allocated inside one).
  void reserve_clock(int32_t slots);
  // Starts a step; `timing` false makes begin/end only NVTX ranges (or nothing when `nvtx` false).
  // `clock` asks for clock mode, taken only while `stream` is capturing (else events).
  void start(cudaStream_t stream, bool timing, bool nvtx, bool clock = false);
  void begin(int32_t layer, Phase phase);
  void end();
  // After the step's last kernel is enqueued: clock mode's copy of the stamps to the host.
  void finish();
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
  // Clock mode: the slot holding "now", shared with the previous stamp when nothing ran since.
  int32_t stamp();
  double clock_us(int32_t from, int32_t to) const;
  cudaStream_t stream_ = nullptr;
  bool capturing_ = false;  // inside a graph capture events must be recorded as external nodes
  bool timing_ = false;
  bool nvtx_ = false;
  std::vector<cudaEvent_t> pool_;
  size_t used_ = 0;
  cudaEvent_t step_start_ = nullptr;
  std::vector<Mark> marks_;
  bool open_ = false;
  // Clock mode.
  struct ClockMark {
    int32_t layer;
    Phase phase;
    int32_t begin;  // stamp slots
    int32_t end;
  };
  bool clock_ = false;
  DeviceBuffer stamps_;       // (capacity) uint64 ns
  PinnedBuffer stamps_host_;  // (capacity)
  int32_t capacity_ = 0, used_slots_ = 0, start_slot_ = 0, last_slot_ = -1;
  cudaGraphNode_t last_stamp_node_ = nullptr;
  std::vector<ClockMark> clock_marks_;
};

}  // namespace moescope::gpu
