#include "core/model_fp8.h"

#include <cstring>

#include "core/fp8_block_quant.h"

namespace moescope {
namespace {

const TensorView& own_tensor(OwnedTensors& store, std::string name, DType dtype, std::vector<int64_t> shape,
                             const void* bytes, size_t n_bytes) {
  TensorInfo& info = store.infos.emplace_back();
  info.name = std::move(name);
  info.dtype = dtype;
  info.shape = std::move(shape);
  info.data_begin = 0;
  info.data_end = static_cast<int64_t>(n_bytes);
  auto& data = store.data.emplace_back(n_bytes);
  std::memcpy(data.data(), bytes, n_bytes);
  return store.views.emplace_back(TensorView{&info, data.data(), &store.label});
}

bool quantize_matrix_fp8(WeightMatrix& w, OwnedTensors& store) {
  if (!w.present() || w.weight->dtype() == DType::f8_e4m3) return false;
  const std::string name = w.weight->name();
  std::vector<float> values(static_cast<size_t>(w.rows * w.cols));
  convert_to_f32(*w.weight, 0, w.rows * w.cols, values.data());
  const Fp8BlockWeight q = quantize_fp8_blocks(values, w.rows, w.cols, *w.weight->file + ": '" + name + "'");
  const int64_t block_rows = (w.rows + kFp8Block - 1) / kFp8Block,
                block_cols = (w.cols + kFp8Block - 1) / kFp8Block;
  w.weight = &own_tensor(store, name, DType::f8_e4m3, {w.rows, w.cols}, q.values.data(), q.values.size());
  w.scale_inv = &own_tensor(store, name + "_scale_inv", DType::f32, {block_rows, block_cols}, q.scales.data(),
                            q.scales.size() * sizeof(float));
  return true;
}

int64_t quantize_ffn_fp8(FeedForwardWeights& f, OwnedTensors& store) {
  return quantize_matrix_fp8(f.gate, store) + quantize_matrix_fp8(f.up, store) +
         quantize_matrix_fp8(f.down, store);
}

}  // namespace

std::optional<WeightFormat> parse_weight_format(std::string_view name) {
  if (name == "stored") return WeightFormat::stored;
  if (name == "fp8") return WeightFormat::fp8;
  return std::nullopt;
}

int64_t quantize_weights_fp8(Model& model) {
  if (!model.owned) {
    model.owned = std::make_unique<OwnedTensors>();
    model.owned->label = model.dir.string() + " (quantised to fp8 at load)";
  }
  OwnedTensors& store = *model.owned;
  int64_t converted = 0;
  for (LayerWeights& layer : model.weights.layers) {
    AttentionWeights& a = layer.attention;
    for (WeightMatrix* m : {&a.q_proj, &a.k_proj, &a.v_proj, &a.q_a_proj, &a.q_b_proj, &a.kv_a_proj_with_mqa,
                            &a.kv_b_proj, &a.o_proj}) {
      converted += quantize_matrix_fp8(*m, store);
    }
    converted += quantize_ffn_fp8(layer.dense, store);
    converted += quantize_ffn_fp8(layer.shared, store);
    for (FeedForwardWeights& expert : layer.experts) converted += quantize_ffn_fp8(expert, store);
  }
  return converted;
}

}  // namespace moescope
