// Fonts (from Debian packages: DejaVu for Latin/Greek/Cyrillic/symbols, Noto CJK merged into the
// token font) and the dark and light themes, both scaled for HiDPI.
#pragma once

#include "ui/app_state.h"

namespace moescope::ui {

// Adds the fonts to ImGui's atlas at `scale` (1 = 96 dpi). A missing font file falls back to
// ImGui's built-in font rather than failing: the app must still start.
Fonts load_fonts(float scale);
void apply_theme(bool dark, float scale);

// Accent colours the views share (phase colours of the timeline, positive/negative of diffs).
unsigned int phase_color(int phase_index);

}  // namespace moescope::ui
