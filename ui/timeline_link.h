// Which steps a timeline zoom shows, so that zooming the timeline selects those steps' tokens in
// the other views (the linked selection, ui/selection.h), as zooming a heatmap does. GL- and
// ImGui-free.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace moescope::ui {

struct PlacedZone;  // ui/app_state.h

// The first and last step (numbers) of `steps` (the timeline's step track) shown by the view
// [begin_us, end_us): those whose middle lies in it; zoomed inside one step, that step. {-1, -1}
// when the view shows no step.
std::pair<int64_t, int64_t> steps_in_view(const std::vector<PlacedZone>& steps, double begin_us,
                                          double end_us);

}  // namespace moescope::ui
