// Focus: the CPU reference engine reproduces transformers' float32 outputs on every golden model:
// logits (uncached, and prefill + cached decode), router logits, top-k sets, combine weights, and
// greedy generation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/engine.h"
#include "core/model.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using test::kGoldenModels;

// Keeps the first forward step's routing of every MoE layer.
struct RoutingCapture : ForwardObserver {
  struct Layer {
    std::vector<float> router_logits;
    std::vector<int32_t> topk_ids;
    std::vector<float> topk_weights;
  };
  std::map<int32_t, Layer> layers;
  void on_routing(const RoutingEvent& e) override {
    if (e.step != 0) return;
    layers[e.layer] = {{e.router_logits.begin(), e.router_logits.end()},
                       {e.topk_ids.begin(), e.topk_ids.end()},
                       {e.topk_weights.begin(), e.topk_weights.end()}};
  }
};

class CpuGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_ = load_model(test::golden_model(GetParam()));
    golden_ = std::make_unique<test::GoldenFile>(test::open_golden(GetParam()));
    EngineOptions options;
    options.n_threads = 2;
    engine_ = make_cpu_engine(*model_, options);
  }
  std::unique_ptr<Model> model_;
  std::unique_ptr<test::GoldenFile> golden_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(CpuGolden, UncachedLogitsMatchLogitsFull) {
  const auto ids = golden_->i32("generated_ids");
  std::vector<float> logits;
  engine_->forward(ids, true, logits);
  const double err = test::relative_error(logits, golden_->f32("logits_full"));
  EXPECT_LE(err, 1e-4) << GetParam();
  RecordProperty("rel_err", std::to_string(err));
}

TEST_P(CpuGolden, PrefillThenCachedDecodeMatchesLogitsFull) {
  const auto ids = golden_->i32("generated_ids");
  const auto prompt_len = golden_->i32("input_ids").size();
  std::vector<float> all, step;
  engine_->forward(std::span(ids).first(prompt_len), true, all);
  for (size_t i = prompt_len; i < ids.size(); ++i) {
    engine_->forward(std::span(ids).subspan(i, 1), true, step);
    all.insert(all.end(), step.begin(), step.end());
  }
  EXPECT_LE(test::relative_error(all, golden_->f32("logits_full")), 1e-4) << GetParam();
  EXPECT_EQ(engine_->position(), static_cast<int64_t>(ids.size()));
}

TEST_P(CpuGolden, PromptLogitsMatch) {
  std::vector<float> logits;
  engine_->forward(golden_->i32("input_ids"), true, logits);
  EXPECT_LE(test::relative_error(logits, golden_->f32("logits")), 1e-4);
}

TEST_P(CpuGolden, RouterLogitsTopkAndWeightsMatch) {
  RoutingCapture capture;
  engine_->set_observer(&capture);
  std::vector<float> logits;
  engine_->forward(golden_->i32("input_ids"), true, logits);
  const auto moe_layers = model_->config.moe_layers();
  ASSERT_EQ(capture.layers.size(), moe_layers.size());
  const int64_t k = model_->config.top_k;
  for (int32_t layer : moe_layers) {
    const std::string L = std::to_string(layer);
    const auto& got = capture.layers.at(layer);
    EXPECT_LE(test::relative_error(got.router_logits, golden_->f32("router_logits." + L)), 1e-4) << "layer " << L;
    const auto ref_ids = golden_->i32("gate_out2." + L);
    const double agreement = test::topk_set_agreement(got.topk_ids, ref_ids, k);
    EXPECT_GE(agreement, 0.97) << "layer " << L;
    // Combine weights, compared per expert id on rows whose sets agree.
    const auto ref_w = golden_->f32("gate_out1." + L);
    double diff = 0, norm = 0;
    for (size_t r = 0; r < got.topk_ids.size() / k; ++r) {
      std::map<int32_t, float> ref_by_id;
      for (int64_t j = 0; j < k; ++j) ref_by_id[ref_ids[r * k + j]] = ref_w[r * k + j];
      for (int64_t j = 0; j < k; ++j) {
        auto it = ref_by_id.find(got.topk_ids[r * k + j]);
        if (it == ref_by_id.end()) continue;
        diff += std::pow(got.topk_weights[r * k + j] - it->second, 2);
        norm += std::pow(it->second, 2);
      }
    }
    EXPECT_LE(std::sqrt(diff / norm), 1e-4) << "combine weights, layer " << L;
  }
}

TEST_P(CpuGolden, GreedyDecodeReproducesGeneratedIds) {
  const auto prompt = golden_->i32("input_ids");
  const auto expected = golden_->i32("generated_ids");
  std::vector<int32_t> ids = prompt;
  std::vector<float> logits;
  engine_->forward(prompt, false, logits);
  while (ids.size() < expected.size()) {
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(next);
    engine_->forward(std::span(ids).last(1), false, logits);
  }
  EXPECT_EQ(ids, expected);
}

TEST_P(CpuGolden, ResetStartsAgainAtPositionZero) {
  const auto prompt = golden_->i32("input_ids");
  std::vector<float> first, second;
  engine_->forward(prompt, false, first);
  engine_->reset();
  EXPECT_EQ(engine_->position(), 0);
  engine_->forward(prompt, false, second);
  EXPECT_EQ(first, second);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, CpuGolden, ::testing::ValuesIn(kGoldenModels),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace moescope
