// The per-thread PDL switch behind launch_kernel (gpu/launch.cuh), set per thread.
#include "gpu/programmatic_launch.h"

namespace moescope::gpu {
namespace {
thread_local bool programmatic_launch_on = false;
}  // namespace

bool programmatic_launch_enabled() { return programmatic_launch_on; }

ProgrammaticLaunchScope::ProgrammaticLaunchScope(bool enabled) : previous_(programmatic_launch_on) {
  programmatic_launch_on = enabled;
}

ProgrammaticLaunchScope::~ProgrammaticLaunchScope() { programmatic_launch_on = previous_; }

}  // namespace moescope::gpu
