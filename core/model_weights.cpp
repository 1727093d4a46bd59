#include "core/model_weights.h"

#include "core/arch/registry.h"
#include "core/error.h"

namespace moescope {

namespace {

// Every lookup checks presence and exact shape, so no compute ever starts on a malformed model.
struct Binder {
  const Checkpoint& checkpoint;

  const TensorView& require(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorView* view = checkpoint.find(name);
    if (!view)
      fail_input(checkpoint.dir.string() + ": missing tensor '" + name + "' (expected shape " + shape_text(shape) + ")");
    if (view->shape() != shape)
      fail_input(*view->file + ": tensor '" + name + "' has shape " + shape_text(view->shape()) + ", expected " +
                 shape_text(shape));
    switch (view->dtype()) {
      case DType::bf16:
      case DType::f16:
      case DType::f32:
      case DType::f8_e4m3: break;
      default:
        fail_input(*view->file + ": tensor '" + name + "' has dtype " + std::string(dtype_name(view->dtype())) +
                   ", expected BF16, F16, F32 or F8_E4M3");
    }
    return *view;
  }

  // An F8_E4M3 weight's `<name>_scale_inv`: one scale per 128x128 block (DeepSeek-V3's layout).
  const TensorView& block_scales(const TensorView& weight, int64_t rows, int64_t cols) const {
    const std::string name = weight.name() + "_scale_inv";
    const std::vector<int64_t> shape = {(rows + 127) / 128, (cols + 127) / 128};
    const TensorView* scales = checkpoint.find(name);
    if (!scales) {
      fail_input(*weight.file + ": F8_E4M3 tensor '" + weight.name() + "' " + shape_text(weight.shape()) +
                 " has no block scales '" + name + "' (expected shape " + shape_text(shape) +
                 ", one per 128x128 block)");
    }
    if (scales->shape() != shape) {
      fail_input(*scales->file + ": '" + name + "' has shape " + shape_text(scales->shape()) + ", expected " +
                 shape_text(shape) + ", one scale per 128x128 block of the F8_E4M3 tensor '" + weight.name() + "' " +
                 shape_text(weight.shape()));
    }
    return require(name, shape);  // the dtype check
  }

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const {
    WeightMatrix m;
    m.weight = &require(name, {rows, cols});
    m.rows = rows;
    m.cols = cols;
    if (m.weight->dtype() == DType::f8_e4m3) m.scale_inv = &block_scales(*m.weight, rows, cols);
    return m;
  }

  Vector1D vector(const std::string& name, int64_t size) const { return Vector1D{&require(name, {size}), size}; }

  FeedForwardWeights ffn(const std::string& prefix, const char* gate, const char* up, const char* down, int64_t hidden,
                         int64_t width) const {
    return FeedForwardWeights{matrix(prefix + gate + ".weight", width, hidden), matrix(prefix + up + ".weight", width, hidden),
                              matrix(prefix + down + ".weight", hidden, width)};
  }
};

AttentionWeights bind_attention(const Binder& b, const ModelConfig& c, const std::string& p) {
  AttentionWeights a;
  const int64_t h = c.hidden_size;
  if (c.use_mla) {
    const int64_t q_out = c.num_heads * c.qk_head_dim();
    if (c.q_lora_rank > 0) {
      a.q_a_proj = b.matrix(p + "q_a_proj.weight", c.q_lora_rank, h);
      a.q_a_norm = b.vector(p + "q_a_layernorm.weight", c.q_lora_rank);
      a.q_b_proj = b.matrix(p + "q_b_proj.weight", q_out, c.q_lora_rank);
    } else {
      a.q_proj = b.matrix(p + "q_proj.weight", q_out, h);
    }
    a.kv_a_proj_with_mqa = b.matrix(p + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, h);
    a.kv_a_norm = b.vector(p + "kv_a_layernorm.weight", c.kv_lora_rank);
    a.kv_b_proj = b.matrix(p + "kv_b_proj.weight", c.num_heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    a.o_proj = b.matrix(p + "o_proj.weight", h, c.num_heads * c.v_head_dim);
  } else {
    a.q_proj = b.matrix(p + "q_proj.weight", c.num_heads * c.head_dim, h);
    a.k_proj = b.matrix(p + "k_proj.weight", c.num_kv_heads * c.head_dim, h);
    a.v_proj = b.matrix(p + "v_proj.weight", c.num_kv_heads * c.head_dim, h);
    a.o_proj = b.matrix(p + "o_proj.weight", h, c.num_heads * c.head_dim);
    if (c.qk_norm) {
      a.q_norm = b.vector(p + "q_norm.weight", c.head_dim);
      a.k_norm = b.vector(p + "k_norm.weight", c.head_dim);
    }
  }
  return a;
}

}  // namespace

ModelWeights bind_model_weights(const ModelConfig& c, const Checkpoint& checkpoint) {
  const Binder b{checkpoint};
  const TensorNaming& naming = arch_for(c.family).naming;
  ModelWeights w;
  w.embed_tokens = b.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
  w.final_norm = b.vector("model.norm.weight", c.hidden_size);
  w.lm_head = (c.tie_word_embeddings && !checkpoint.find("lm_head.weight"))
                  ? w.embed_tokens
                  : b.matrix("lm_head.weight", c.vocab_size, c.hidden_size);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights layer;
    layer.input_norm = b.vector(p + "input_layernorm.weight", c.hidden_size);
    layer.post_attn_norm = b.vector(p + "post_attention_layernorm.weight", c.hidden_size);
    layer.attention = bind_attention(b, c, p + "self_attn.");
    if (c.is_moe_layer(l)) {
      const std::string m = p + naming.moe_module + ".";
      layer.router = b.matrix(m + "gate.weight", c.n_routed_experts, c.hidden_size);
      if (c.topk_method == TopkMethod::noaux_tc)
        layer.router_bias = b.vector(m + "gate.e_score_correction_bias", c.n_routed_experts);
      for (int64_t e = 0; e < c.n_routed_experts; ++e) {
        layer.experts.push_back(b.ffn(m + "experts." + std::to_string(e) + ".", naming.expert_gate, naming.expert_up,
                                      naming.expert_down, c.hidden_size, c.moe_intermediate_size));
      }
      if (c.n_shared_experts > 0) {
        layer.shared = b.ffn(m + "shared_experts.", "gate_proj", "up_proj", "down_proj", c.hidden_size,
                             c.n_shared_experts * c.moe_intermediate_size);
      }
    } else {
      layer.dense = b.ffn(p + "mlp.", "gate_proj", "up_proj", "down_proj", c.hidden_size, c.intermediate_size);
    }
    w.layers.push_back(std::move(layer));
  }
  return w;
}

}  // namespace moescope
