// Focus: `--weights fp8` (core/model_fp8.h) on the bf16 DeepSeek-V3 golden model. The linear
// weights a V3 release ships in fp8 are converted (router, embeddings, head and norms are not), each
// to exactly quantize_fp8_blocks of the stored values; the CPU engine on the model quantised at load
// gives bit for bit the logits of the same model written out as an fp8 checkpoint with
// `_scale_inv` block scales (the V3 release layout), so it is the fp32 reference of those fp8
// values; and an fp8 checkpoint with a missing or misshapen scale tensor is refused with one line
// naming the tensor and both shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "core/engine.h"
#include "core/error.h"
#include "core/fp8_block_quant.h"
#include "core/model.h"
#include "core/model_fp8.h"
#include "tests/support/cli_checks.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

constexpr const char* kModel = "deepseek-v3-tiny";

// Every MoE layer's top-k ids of one forward step, layer after layer.
struct TopkCapture : ForwardObserver {
  std::vector<int32_t> ids;
  void on_routing(const RoutingEvent& e) override {
    ids.insert(ids.end(), e.topk_ids.begin(), e.topk_ids.end());
  }
};

std::vector<float> forward_logits(const Model& model, const std::vector<int32_t>& ids,
                                  TopkCapture* routing = nullptr) {
  EngineOptions options;
  options.n_threads = 2;
  auto engine = make_cpu_engine(model, options);
  engine->set_observer(routing);
  std::vector<float> logits;
  engine->forward(ids, true, logits);
  engine->set_observer(nullptr);
  return logits;
}

const std::vector<int32_t> kIds = {3, 17, 250, 9, 101, 44, 7, 300};

// Writes `model`'s checkpoint to `dir`/model.safetensors with every weight the model owns (its fp8
// conversions and their scales) in place of the stored one; `drop` and `reshape` damage one tensor.
void write_fp8_checkpoint(const Model& model, const std::filesystem::path& dir, const std::string& drop = "",
                          const std::string& reshape = "") {
  std::map<std::string, const TensorView*> tensors;
  for (const auto& [name, view] : model.checkpoint.tensors) tensors[name] = &view;
  for (const TensorView& view : model.owned->views) tensors[view.name()] = &view;
  std::vector<OutputTensor> out;
  for (const auto& [name, view] : tensors) {
    if (name == drop) continue;
    OutputTensor tensor{name, view->dtype(), view->shape(), {}};
    tensor.bytes.resize(static_cast<size_t>(view->nbytes()));
    std::memcpy(tensor.bytes.data(), view->data, tensor.bytes.size());
    if (name == reshape) {  // one more block row of scales than the weight has
      tensor.shape[0] += 1;
      tensor.bytes.resize(tensor.bytes.size() + static_cast<size_t>(tensor.shape[1]) * sizeof(float));
    }
    out.push_back(std::move(tensor));
  }
  write_safetensors(dir / "model.safetensors", out);
}

// 1. Which weights are converted, and to what.
TEST(ModelFp8, ConvertsTheV3ReleaseRolesToBlockQuantisedE4m3) {
  auto stored = load_model(test::golden_model(kModel));
  auto model = load_model(test::golden_model(kModel));
  // Layer 0 is dense: 5 MLA projections + 3 FFN; layers 1-2: 5 + 16 experts x 3 + 3 shared.
  EXPECT_EQ(quantize_weights_fp8(*model), 8 + 2 * (5 + 48 + 3));
  EXPECT_EQ(quantize_weights_fp8(*model), 0);  // already fp8
  const LayerWeights& layer = model->weights.layers[1];
  EXPECT_EQ(layer.router.weight->dtype(), DType::bf16);
  EXPECT_EQ(model->weights.embed_tokens.weight->dtype(), DType::bf16);
  EXPECT_EQ(model->weights.lm_head.weight->dtype(), DType::bf16);
  const std::vector<const WeightMatrix*> converted = {&layer.attention.q_b_proj, &layer.attention.kv_b_proj,
                                                      &layer.experts[5].down, &layer.shared.up,
                                                      &model->weights.layers[0].dense.gate};
  for (const WeightMatrix* w : converted) {
    ASSERT_EQ(w->weight->dtype(), DType::f8_e4m3) << w->weight->name();
    ASSERT_NE(w->scale_inv, nullptr);
    EXPECT_EQ(w->scale_inv->shape(), (std::vector<int64_t>{(w->rows + 127) / 128, (w->cols + 127) / 128}));
    const Fp8BlockWeight expected =
        quantize_fp8_blocks(read_tensor_f32(stored->checkpoint, w->weight->name()), w->rows, w->cols, "w");
    std::vector<uint8_t> values(static_cast<size_t>(w->rows * w->cols));
    std::memcpy(values.data(), w->weight->data, values.size());
    EXPECT_EQ(values, expected.values) << w->weight->name();
    std::vector<float> scales(expected.scales.size());
    std::memcpy(scales.data(), w->scale_inv->data, scales.size() * sizeof(float));
    EXPECT_EQ(scales, expected.scales) << w->weight->name();
    // e4m3 keeps three mantissa bits: each element within 1/16 of itself, the whole matrix closer.
    const double err = test::relative_error(dequantize_fp8_blocks(expected),
                                            read_tensor_f32(stored->checkpoint, w->weight->name()));
    std::printf("%s: dequantised relative error %.4f\n", w->weight->name().c_str(), err);
    EXPECT_LT(err, 0.04) << w->weight->name();
  }
}

// 2. Quantised at load = read from an fp8 checkpoint, bit for bit; and close to, not equal to, bf16.
TEST(ModelFp8, CpuEngineIsTheReferenceOfTheSameFp8Values) {
  auto model = load_model(test::golden_model(kModel));
  quantize_weights_fp8(*model);
  const auto dir = test::copy_golden_checkpoint(kModel, "fp8-golden");
  write_fp8_checkpoint(*model, dir);
  auto from_file = load_model(dir);
  EXPECT_EQ(from_file->weights.layers[2].experts[0].gate.weight->dtype(), DType::f8_e4m3);

  TopkCapture fp8_routing, file_routing, stored_routing;
  const std::vector<float> quantised_at_load = forward_logits(*model, kIds, &fp8_routing);
  EXPECT_EQ(forward_logits(*from_file, kIds, &file_routing), quantised_at_load);
  EXPECT_EQ(file_routing.ids, fp8_routing.ids);

  // Against the stored bf16 weights the logits move, more than the ~2.6% weight error: on this tiny
  // random model the router's scores are close, and the rounding changes some top-k choices.
  auto stored = load_model(test::golden_model(kModel));
  const double err = test::relative_error(quantised_at_load, forward_logits(*stored, kIds, &stored_routing));
  ASSERT_EQ(stored_routing.ids.size(), fp8_routing.ids.size());
  size_t changed = 0;
  for (size_t i = 0; i < fp8_routing.ids.size(); ++i) changed += fp8_routing.ids[i] != stored_routing.ids[i];
  std::printf("fp8 vs bf16 weights: logits relative error %.4f, %zu of %zu top-k slots changed\n", err,
              changed, fp8_routing.ids.size());
  EXPECT_GT(err, 0.0);
  EXPECT_LT(err, 0.5);
}

// 3. An fp8 weight without its scales, or with scales of another shape: one line naming the tensor
// and the shapes, from the model loader and from read_tensor_f32.
TEST(ModelFp8, MissingOrMisshapenScalesAreRefused) {
  auto model = load_model(test::golden_model(kModel));
  quantize_weights_fp8(*model);
  const std::string weight = "model.layers.1.mlp.experts.3.up_proj.weight";

  const auto missing = test::copy_golden_checkpoint(kModel, "fp8-no-scales");
  write_fp8_checkpoint(*model, missing, weight + "_scale_inv");
  try {
    load_model(missing);
    FAIL() << "loaded an fp8 weight without scales";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("F8_E4M3 tensor '" + weight + "' [32, 64] has no block scales '" + weight +
                           "_scale_inv' (expected shape [1, 1]"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  const Checkpoint checkpoint = open_checkpoint(missing);
  EXPECT_THROW(read_tensor_f32(checkpoint, weight), InputError);

  const auto misshapen = test::copy_golden_checkpoint(kModel, "fp8-bad-scales");
  write_fp8_checkpoint(*model, misshapen, "", weight + "_scale_inv");
  try {
    load_model(misshapen);
    FAIL() << "loaded an fp8 weight with misshapen scales";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + weight +
                           "_scale_inv' has shape [2, 1], expected [1, 1], one scale per 128x128 "
                           "block of the F8_E4M3 tensor '" +
                           weight + "' [32, 64]"),
              std::string::npos)
        << message;
  }
  try {
    read_tensor_f32(open_checkpoint(misshapen), weight);
    FAIL() << "read an fp8 weight with misshapen scales";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has shape [2, 1], expected [1, 1]"), std::string::npos) << e.what();
  }
}

TEST(ModelFp8, WeightFormatNames) {
  EXPECT_EQ(parse_weight_format("fp8"), WeightFormat::fp8);
  EXPECT_EQ(parse_weight_format("stored"), WeightFormat::stored);
  EXPECT_FALSE(parse_weight_format("int4").has_value());
}

}  // namespace
}  // namespace moescope
