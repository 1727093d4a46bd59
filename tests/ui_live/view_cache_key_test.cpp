// Focus: the keys the GUI's view caches (derived arrays, token layout, timeline tracks, heatmap
// textures) compare to know they still show the selected run (run_data_key in ui/session_data.h).
// The keys must follow the data, not the run's number: opening session B after session A, both
// with a run 1, must change every key, or the views keep drawing A's run (issue #18). Cases:
// 1. the same run read twice from one open session keeps its key (caches stay warm);
// 2. a run 1 of another session opened afterwards gets another key, even with the same revision;
// 3. reopening the same file gets another key (the file may have changed in between);
// 4. a run reloaded after refresh() (its status changed) gets another key;
// 5. a live run's key changes with every update, and with every revision of one copy.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ui/session_data.h"

namespace moescope::ui {
namespace {

// A session holding runs 1..n_runs whose tokens spell `word` so two sessions differ in content.
class FakeSource final : public SessionSource {
 public:
  FakeSource(std::string label, std::string word, int32_t n_tokens)
      : label_(std::move(label)), word_(std::move(word)), n_tokens_(n_tokens) {}
  std::string label() const override { return label_; }
  ModelCard model() const override { return {}; }
  std::vector<RunSummary> runs() override {
    RunSummary r;
    r.id = 1;
    r.tag = "code";
    r.status = status;
    r.n_tokens = n_tokens_;
    return {r};
  }
  std::shared_ptr<RunData> load_run(int64_t run_id) override {
    auto run = std::make_shared<RunData>();
    run->summary = runs().front();
    run->summary.id = run_id;
    run->token_text.assign(static_cast<size_t>(n_tokens_), word_);
    return run;  // revision 1, as every loaded run
  }
  std::string status = "complete";

 private:
  std::string label_, word_;
  int32_t n_tokens_;
};

uint64_t key_of_run_1(SessionDoc& doc) {
  auto run = doc.run(1);
  EXPECT_NE(run, nullptr);
  return run ? run_data_key(*run) : 0;
}

TEST(ViewCacheKey, TheSameRunOfTheSameOpenSessionKeepsItsKey) {
  SessionDoc doc(std::make_unique<FakeSource>("a.db", "alpha", 10));
  EXPECT_EQ(key_of_run_1(doc), key_of_run_1(doc));
}

TEST(ViewCacheKey, Run1OfASecondSessionHasAnotherKeyThanRun1OfTheFirst) {
  auto a = std::make_unique<SessionDoc>(std::make_unique<FakeSource>("a.db", "alpha", 10));
  const uint64_t key_a = key_of_run_1(*a);
  // As File > Open does: the new document replaces the old one.
  a = std::make_unique<SessionDoc>(std::make_unique<FakeSource>("b.db", "beta", 2000));
  EXPECT_NE(key_of_run_1(*a), key_a) << "views keyed on (run id, revision) keep showing session A's run 1";
}

TEST(ViewCacheKey, ReopeningTheSameFileGivesNewKeys) {
  uint64_t first = 0;
  {
    SessionDoc doc(std::make_unique<FakeSource>("a.db", "alpha", 10));
    first = key_of_run_1(doc);
  }
  SessionDoc again(std::make_unique<FakeSource>("a.db", "alpha", 12));
  EXPECT_NE(key_of_run_1(again), first);
}

TEST(ViewCacheKey, ARunReloadedAfterRefreshGetsANewKey) {
  auto source = std::make_unique<FakeSource>("a.db", "alpha", 10);
  FakeSource* raw = source.get();
  raw->status = "running";
  SessionDoc doc(std::move(source));
  const uint64_t before = key_of_run_1(doc);
  raw->status = "complete";
  doc.refresh();
  EXPECT_NE(key_of_run_1(doc), before);
}

TEST(ViewCacheKey, ALiveRunsKeyChangesWithEveryUpdate) {
  SessionDoc doc(std::make_unique<FakeSource>("a.db", "alpha", 10));
  uint64_t last = 0;
  for (uint64_t revision = 1; revision <= 3; ++revision) {
    auto live = std::make_shared<RunData>();
    live->summary.id = -1;
    live->revision = revision;
    doc.put_live_run(live);
    const uint64_t key = run_data_key(*doc.run(-1));
    EXPECT_NE(key, last) << "revision " << revision;
    last = key;
  }
  // The same copy changing in place: each revision its own key (also for revisions that differ
  // only in their last bit).
  auto run = doc.run(-1);
  const uint64_t at_3 = run_data_key(*run);
  run->revision = 2;
  EXPECT_NE(run_data_key(*run), at_3);
}

}  // namespace
}  // namespace moescope::ui
