// The sidebar's run list: which runs pass the filter, worked out when the filter or the run list
// changes rather than every frame, so a session of 100,000 runs costs a frame only the rows on
// screen (the shell draws them with ImGuiListClipper).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ui/session_data.h"

namespace moescope::ui {

// Every word of the filter (case-insensitive) appears in the run's tag, prompt or "#id".
bool run_matches_filter(const RunSummary& r, const std::string& filter);

class RunListFilter {
 public:
  // Indexes into doc.runs() of the runs matching `filter`, in list order; recomputed only when
  // the filter or the document's version differs from the last call's.
  const std::vector<size_t>& rows(const SessionDoc& doc, const std::string& filter);

 private:
  bool valid_ = false;
  uint64_t version_ = 0;
  std::string filter_;
  std::vector<size_t> rows_;
};

}  // namespace moescope::ui
