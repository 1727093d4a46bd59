// The per-thread switch for programmatic dependent launch (PDL) of the decode kernels: host code
// only; gpu/launch.cuh's launch_kernel reads it.
#pragma once

namespace moescope::gpu {

// Whether launch_kernel on this thread uses PDL.
bool programmatic_launch_enabled();

// Turns PDL on for this thread's launch_kernel calls while it lives (the engine holds one around
// a decode step under --pdl), restoring the previous setting after.
class ProgrammaticLaunchScope {
 public:
  explicit ProgrammaticLaunchScope(bool enabled);
  ~ProgrammaticLaunchScope();
  ProgrammaticLaunchScope(const ProgrammaticLaunchScope&) = delete;
  ProgrammaticLaunchScope& operator=(const ProgrammaticLaunchScope&) = delete;

 private:
  bool previous_;
};

}  // namespace moescope::gpu
