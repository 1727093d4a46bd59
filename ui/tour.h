// The scripted tour (`moescope gui --session FILE --tour DIR`): visits every view with a
// representative selection, writes DIR/<view>.png of the real window, DIR/frame_times.json
// (CPU time to build each view's frame) and DIR/tour.json ({"views": [{"name", "png",
// "frame_ms"}], "demo_model": path or null, "session": path or null}; frame_ms is the median CPU
// time to build that view's frame), then returns the exit code.
#pragma once

#include <functional>
#include <string>

#include "ui/app_state.h"

struct GLFWwindow;

namespace moescope::ui {

// `draw_frame(png)` draws one frame, capturing it to `png` when not empty, and returns the CPU
// milliseconds spent building it.
int run_tour(GLFWwindow* window, AppState& app, const std::string& dir, int bench_frames,
             const std::function<double(const std::string&)>& draw_frame);

}  // namespace moescope::ui
