// The timeline's find-zone search (after Tracy's Find Zone): the phase zones whose phase name
// holds every word of a query, optionally narrowed by "layer N" and "step N", with their duration
// statistics and a log-scaled duration histogram. GL- and ImGui-free; run once per query, not per
// frame (a DeepSeek-V3-shaped run has millions of zones).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::ui {

struct PlacedZone;  // ui/app_state.h

struct ZoneQuery {
  std::vector<std::string> words;  // each must appear in the phase name (lower case)
  int32_t layer = -1;              // -1: any
  int64_t step = -1;               // -1: any
};
// "expert layer 3" -> words {"expert"}, layer 3. InputError-free: a "layer" or "step" without a
// number is a word like any other.
ZoneQuery parse_zone_query(const std::string& text);

struct ZoneSearch {
  std::vector<size_t> matches;  // indexes into TimelineState::phases, in time order
  double total_us = 0, min_us = 0, max_us = 0, mean_us = 0, median_us = 0;
  size_t longest = 0;                // index into phases of the longest match
  std::vector<int64_t> histogram;    // (bins) matches per duration bin
  std::vector<double> bin_edges_us;  // (bins + 1) log-spaced from min to max
};

// `phases`: the timeline's phase track (TimelineState::phases).
ZoneSearch search_zones(const std::vector<PlacedZone>& phases, const ZoneQuery& query, int bins = 32);

}  // namespace moescope::ui
