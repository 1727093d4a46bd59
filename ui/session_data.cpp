#include "ui/session_data.h"

#include <algorithm>
#include <atomic>
#include <set>

namespace moescope::ui {

bool RunData::lacks(const std::string& field) const {
  return std::find(not_captured.begin(), not_captured.end(), field) != not_captured.end();
}

uint64_t mix_key(uint64_t hash, uint64_t value) { return hash ^ (value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2)); }

namespace {

// Process-wide, so that no two documents or loads ever draw the same number.
uint64_t next_serial() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

}  // namespace

uint64_t run_data_key(const RunData& run) {
  // No "| 1" to keep keys non-zero: it would merge keys differing in the last bit (revisions 2, 3).
  return mix_key(mix_key(run.copy_serial, static_cast<uint64_t>(run.summary.id + 1000)), run.revision);
}

SessionDoc::SessionDoc(std::unique_ptr<SessionSource> source) : source_(std::move(source)) {
  label_ = source_->label();
  model_ = source_->model();
  runs_ = source_->runs();
  update_tags();
  version_ = next_serial();
}

std::shared_ptr<RunData> SessionDoc::run(int64_t run_id) {
  if (auto it = loaded_.find(run_id); it != loaded_.end()) return it->second;
  const bool known = std::any_of(runs_.begin(), runs_.end(), [&](const RunSummary& r) { return r.id == run_id; });
  if (!known) return nullptr;
  if (load_errors_.count(run_id)) return nullptr;
  std::shared_ptr<RunData> data;
  try {
    data = source_->load_run(run_id);
  } catch (const std::exception& e) {
    load_errors_[run_id] = e.what();
    return nullptr;
  }
  if (data) data->copy_serial = next_serial();
  loaded_[run_id] = data;
  return data;
}

std::string SessionDoc::load_error(int64_t run_id) const {
  auto it = load_errors_.find(run_id);
  return it == load_errors_.end() ? std::string() : it->second;
}

void SessionDoc::update_tags() {
  std::set<std::string> tags;
  for (const RunSummary& r : runs_) tags.insert(r.tag);
  tags_.assign(tags.begin(), tags.end());
}

void SessionDoc::refresh() {
  std::vector<RunSummary> fresh = source_->runs();
  load_errors_.clear();  // the file may have changed: try damaged runs again
  std::set<int64_t> fresh_ids;
  for (const RunSummary& summary : fresh) {
    fresh_ids.insert(summary.id);
    auto it = loaded_.find(summary.id);
    if (it != loaded_.end() && (it->second->summary.status != summary.status ||
                                it->second->summary.n_tokens != summary.n_tokens)) {
      loaded_.erase(it);
    }
  }
  // Live runs not yet in the session stay listed.
  for (const RunSummary& old : runs_) {
    if (!fresh_ids.count(old.id) && loaded_.count(old.id)) fresh.push_back(old);
  }
  runs_ = std::move(fresh);
  update_tags();
  version_ = next_serial();
}

void SessionDoc::put_live_run(std::shared_ptr<RunData> run) {
  const int64_t id = run->summary.id;
  run->copy_serial = next_serial();
  loaded_[id] = run;
  auto it = std::find_if(runs_.begin(), runs_.end(), [&](const RunSummary& r) { return r.id == id; });
  if (it == runs_.end()) {
    runs_.push_back(run->summary);
  } else {
    *it = run->summary;
  }
  update_tags();
  version_ = next_serial();
}

}  // namespace moescope::ui
