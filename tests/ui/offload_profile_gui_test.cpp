// Focus: the offload profile in the GUI, end to end under Xvfb. A session whose runs carry the
// expert cache's counters (as a CUDA run with --offload-experts records them) is written through
// the sessions writer; the tour's timeline shows the transfer track (copies and stalls in their
// colours) under the phases, and the offload view shows the recorded hit rate per layer (viridis
// cells) beside the what-if curve. prepare_transfer_track's placement, and that a run without
// offload rows gets no track, are checked without a display.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"
#include "tests/ui/png_checks.h"
#include "tests/ui/session_fixture.h"
#include "ui/colormap.h"
#include "ui/timeline_tracks.h"
#include "ui/timeline_transfer_track.h"

namespace moescope::test {
namespace offload_gui_test {

constexpr int kWidth = 1280, kHeight = 800;

// Pixels of exactly this colour (the transfer track's fills are flat, unblended).
int pixels_of(const Image& img, Region r, uint8_t red, uint8_t green, uint8_t blue) {
  int n = 0;
  for (int y = r.y0; y < r.y1; ++y)
    for (int x = r.x0; x < r.x1; ++x) {
      const uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x) * 3;
      n += p[0] == red && p[1] == green && p[2] == blue;
    }
  return n;
}

// Pixels whose colour is one of the viridis map's 256 entries: the recorded grid's cells.
int viridis_pixels(const Image& img, Region r) {
  const ui::ColorLut& lut = ui::colormap_lut(ui::Colormap::viridis);
  int n = 0;
  for (int y = r.y0; y < r.y1; ++y)
    for (int x = r.x0; x < r.x1; ++x) {
      const uint8_t* p = img.rgb.data() + (static_cast<size_t>(y) * img.width + x) * 3;
      const uint32_t packed = 0xff000000u | p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16);
      n += std::find(lut.begin(), lut.end(), packed) != lut.end();
    }
  return n;
}

struct Tour {
  CommandResult result;
  std::filesystem::path dir;
  Image shot(const std::string& view) const { return read_png(dir / "tour" / (view + ".png")); }
};

Tour run_tour(const std::string& label, int32_t offload_slots) {
  Tour tour;
  tour.dir = scratch_dir(label);
  ui::SyntheticSpec spec;
  spec.n_tokens = 200;
  spec.n_experts = 16;
  spec.n_layers = 6;
  spec.n_runs = 1;
  spec.offload_slots = offload_slots;
  write_synthetic_session(tour.dir / "session.db", spec);
  tour.result = run_command("xvfb-run -a -s '-screen 0 1600x1000x24' env LIBGL_ALWAYS_SOFTWARE=1 XDG_CONFIG_HOME=" +
                            scratch_dir(label + "-xdg").string() + " " + moescope_binary().string() +
                            " gui --session " + (tour.dir / "session.db").string() + " --tour " +
                            (tour.dir / "tour").string() + " --size " + std::to_string(kWidth) + "x" +
                            std::to_string(kHeight));
  return tour;
}

// The content area: right of the sidebar, below the menu bar, above the status bar.
const Region kContent{260, 60, kWidth - 10, kHeight - 40};
// The offload view's right part, where the recorded grid sits beside the curve.
const Region kRecordedSide{260 + (kWidth - 270) * 6 / 10, 120, kWidth - 10, kHeight - 40};

TEST(OffloadProfileGui, TimelineHasATransferTrackAndTheOffloadViewTheRecordedGrid) {
  if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb)";
  // One tour (several seconds under Mesa): the views without offload rows are GuiTour's, and
  // TransferZonesArePlacedByTheirStepsOffset checks that such a run has no transfer track.
  const Tour with = run_tour("gui-offload", 4);
  ASSERT_EQ(with.result.exit_code, 0) << with.result.output;

  // ui/timeline_transfer_track.cpp: copies (64, 156, 236), stalls (226, 74, 60).
  const Image timeline = with.shot("timeline");
  ASSERT_EQ(timeline.width, kWidth);
  EXPECT_GT(pixels_of(timeline, kContent, 64, 156, 236), 200) << "no expert copies drawn";
  EXPECT_GT(pixels_of(timeline, kContent, 226, 74, 60), 100) << "no stalls drawn";

  const Image offload = with.shot("offload");
  // The what-if curve is drawn in categorical colours: viridis on the right is the recorded grid.
  EXPECT_GT(viridis_pixels(offload, kRecordedSide), 5000) << "no recorded hit-rate grid beside the curve";
}

// Without a display: zones land at their step's offset plus their start, sorted and apart.
TEST(OffloadProfileGui, TransferZonesArePlacedByTheirStepsOffset) {
  ui::RunData run;
  run.timings = {{0, 1, Phase::experts, 0, 100}, {1, 1, Phase::experts, 0, 40}};
  OffloadEvent a;
  a.step = 0, a.layer = 1, a.lookups = 2, a.copy_start_us = 10, a.copy_us = 30, a.stall_start_us = 20, a.stall_us = 5;
  OffloadEvent b = a;
  b.step = 1, b.copy_start_us = 5, b.copy_us = 10, b.stall_us = 0;
  OffloadEvent c = a;  // overlaps the copy of layer 1 in step 0: moved to start where it ends
  c.layer = 2, c.copy_start_us = 20, c.stall_start_us = 22;
  run.offload = {a, c, b};
  ui::TimelineState s;
  ui::prepare_tracks(run, s);
  ui::prepare_transfer_track(run, s);
  ASSERT_EQ(s.copies.size(), 3u);
  EXPECT_DOUBLE_EQ(s.copies[0].begin_us, 10);
  EXPECT_DOUBLE_EQ(s.copies[0].end_us, 40);
  EXPECT_DOUBLE_EQ(s.copies[1].begin_us, 40);
  EXPECT_DOUBLE_EQ(s.copies[1].end_us, 50);
  EXPECT_EQ(s.copies[1].layer, 2);
  EXPECT_DOUBLE_EQ(s.copies[2].begin_us, 105);  // step 1 starts where step 0's last phase ends, at 100
  ASSERT_EQ(s.stalls.size(), 2u);                // step 1 did not stall
  EXPECT_DOUBLE_EQ(s.stalls[1].begin_us, 25);    // 22..27 clipped where the stall of layer 1 ends
  EXPECT_DOUBLE_EQ(s.stalls[1].end_us, 27);
  EXPECT_EQ(ui::transfer_track_count(s), 1);
  run.offload.clear();  // a run that kept its experts on the GPU
  ui::prepare_transfer_track(run, s);
  EXPECT_EQ(ui::transfer_track_count(s), 0);
}

}  // namespace offload_gui_test
}  // namespace moescope::test
