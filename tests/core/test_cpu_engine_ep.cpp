// Focus: emulated expert parallelism on the CPU engine: one all-to-all event per MoE layer and step,
// whose token matrix counts each token once per rank hosting any of its experts; logits unchanged.
#include <gtest/gtest.h>

#include <set>

#include "core/engine.h"
#include "core/error.h"
#include "core/model.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

struct Capture : ForwardObserver {
  std::vector<std::vector<int32_t>> topk;  // per routing event
  std::vector<std::vector<int64_t>> tokens;
  std::vector<double> modeled;
  int32_t n_ranks = 0;
  void on_routing(const RoutingEvent& e) override { topk.emplace_back(e.topk_ids.begin(), e.topk_ids.end()); }
  void on_all_to_all(const AllToAllEvent& e) override {
    tokens.emplace_back(e.tokens.begin(), e.tokens.end());
    modeled.push_back(e.modeled_us);
    n_ranks = e.n_ranks;
  }
};

TEST(CpuEngineEp, TrafficMatchesRoutingAndLogitsAreUnchanged) {
  auto model = load_model(test::golden_model("mixtral-tiny"));
  const auto ids = test::open_golden("mixtral-tiny").i32("input_ids");
  EngineOptions plain;
  plain.n_threads = 1;
  EngineOptions ep = plain;
  ep.ep_degree = 4;  // 8 experts: ranks hold {0,1} {2,3} {4,5} {6,7}
  std::vector<float> logits_plain, logits_ep;
  make_cpu_engine(*model, plain)->forward(ids, true, logits_plain);
  Capture capture;
  auto engine = make_cpu_engine(*model, ep);
  engine->set_observer(&capture);
  engine->forward(ids, true, logits_ep);
  EXPECT_EQ(logits_plain, logits_ep);

  ASSERT_EQ(capture.tokens.size(), capture.topk.size());
  ASSERT_EQ(capture.n_ranks, 4);
  const int64_t k = model->config.top_k;
  const int64_t T = static_cast<int64_t>(ids.size());
  for (size_t event = 0; event < capture.topk.size(); ++event) {
    int64_t expected = 0;  // distinct destination ranks per token
    for (int64_t t = 0; t < T; ++t) {
      std::set<int32_t> ranks;
      for (int64_t j = 0; j < k; ++j) ranks.insert(capture.topk[event][t * k + j] / 2);
      expected += static_cast<int64_t>(ranks.size());
    }
    int64_t total = 0;
    for (int64_t v : capture.tokens[event]) total += v;
    EXPECT_EQ(total, expected);
    EXPECT_GT(capture.modeled[event], 0.0);
  }
}

TEST(CpuEngineEp, UnknownInterconnectIsRefused) {
  auto model = load_model(test::golden_model("mixtral-tiny"));
  EngineOptions ep;
  ep.ep_degree = 2;
  ep.ep_interconnect = "carrier-pigeon";
  EXPECT_THROW(make_cpu_engine(*model, ep), InputError);
}

TEST(CpuEngineEp, PlacementMapOfWrongLengthIsRefused) {
  auto model = load_model(test::golden_model("mixtral-tiny"));  // 8 routed experts
  EngineOptions ep;
  ep.ep_degree = 2;
  ep.expert_to_rank = {0, 0, 1, 1};
  try {
    make_cpu_engine(*model, ep);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the map has 4 entries, expected one per routed expert (8)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace moescope
