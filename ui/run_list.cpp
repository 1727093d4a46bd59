#include "ui/run_list.h"

#include <cctype>
#include <sstream>

namespace moescope::ui {
namespace {

std::string run_list_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool run_matches_filter(const RunSummary& r, const std::string& filter) {
  const std::string hay = run_list_lower("#" + std::to_string(r.id) + " " + r.tag + " " + r.prompt);
  std::istringstream words(run_list_lower(filter));
  for (std::string w; words >> w;) {
    if (hay.find(w) == std::string::npos) return false;
  }
  return true;
}

const std::vector<size_t>& RunListFilter::rows(const SessionDoc& doc, const std::string& filter) {
  if (valid_ && version_ == doc.version() && filter_ == filter) return rows_;
  valid_ = true;
  version_ = doc.version();
  filter_ = filter;
  rows_.clear();
  const std::vector<RunSummary>& runs = doc.runs();
  const bool all = filter.find_first_not_of(" \t") == std::string::npos;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (all || run_matches_filter(runs[i], filter)) rows_.push_back(i);
  }
  return rows_;
}

}  // namespace moescope::ui
