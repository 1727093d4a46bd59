#include "gpu/device_layout.h"

#include "core/checked_math.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace moescope::gpu {
namespace {

class Planner {
 public:
  Planner(const ModelWeights* weights, char* base, LayoutPlan& plan, bool fp8, bool experts_on_host = false,
          char* host_base = nullptr)
      : weights_(weights), base_(base), plan_(plan), fp8_(fp8), experts_on_host_(experts_on_host),
        host_base_(host_base) {}

  // A bf16 matrix of `rows` x `cols`, filled from the given checkpoint matrices in order; with fp8
  // and `quantised`, an fp8 one. `pieces`: the row counts of the sources (fused matrices).
  DeviceMatrix matrix(int64_t rows, int64_t cols, std::vector<const WeightMatrix*> sources, bool quantised = false,
                      const std::vector<int64_t>& pieces = {}) {
    Placement p;
    p.elements = checked_mul(rows, cols, "device weight");
    p.rows = rows;
    p.cols = cols;
    p.fp8 = fp8_ && quantised;
    p.host = on_host_;
    if (p.fp8) {
      // One scale row per 128 rows holds for a fused matrix only if every piece but the last
      // starts and ends on a block boundary.
      for (size_t i = 0; i + 1 < pieces.size(); ++i)
        if (pieces[i] % kFp8ScaleCols != 0) p.scale_rows = 1;
      p.offset = take(static_cast<size_t>(p.elements));
      p.scale_offset = take(static_cast<size_t>(scale_count(p)) * 4);
    } else {
      p.offset = take(static_cast<size_t>(p.elements) * 2);
    }
    p.fan_in = cols;
    if (weights_) {
      int64_t source_rows = 0;
      for (const WeightMatrix* m : sources) {
        if (!m || !m->present() || m->cols != cols)
          fail_input("CUDA engine: weight missing or of unexpected width for a (" + std::to_string(rows) +
                     ", " + std::to_string(cols) + ") device matrix");
        source_rows += m->rows;
        if (p.fp8 && (m->weight->dtype() != DType::f8_e4m3 || !m->scale_inv))
          fail_input("CUDA engine: --weights fp8 keeps '" + m->weight->name() + "' as F8_E4M3 with block scales, but it is " +
                     std::string(dtype_name(m->weight->dtype())) + (m->scale_inv ? "" : " without scales") +
                     " (quantise the model first: core/model_fp8.h)");
      }
      if (source_rows != rows)
        fail_input("CUDA engine: weights give " + std::to_string(source_rows) + " rows where " +
                   std::to_string(rows) + " were expected");
      p.matrices = std::move(sources);
    }
    DeviceMatrix out{nullptr, rows, cols, {}};
    out.fp8.scale_rows = p.scale_rows;
    char* base = p.host ? host_base_ : base_;
    if (base && p.fp8) {
      out.fp8.values = reinterpret_cast<const uint8_t*>(base + p.offset);
      out.fp8.scales = reinterpret_cast<const float*>(base + p.scale_offset);
    } else if (base) {
      out.data = reinterpret_cast<const bf16*>(base + p.offset);
    }
    plan_.placements.push_back(std::move(p));
    return out;
  }

  // A block of `count` equal matrices (experts), each (rows, cols) from `sources[i]` pieces, bf16 or
  // (fp8) each expert's values then its scales, so one stride steps from expert to expert.
  DeviceMatrix expert_block(int64_t count, int64_t rows, int64_t cols,
                            const std::vector<std::vector<const WeightMatrix*>>& sources,
                            const std::vector<int64_t>& pieces) {
    DeviceMatrix first;
    on_host_ = experts_on_host_;
    const size_t start = on_host_ ? plan_.host_bytes : plan_.bytes;
    for (int64_t e = 0; e < count; ++e) {
      DeviceMatrix m = matrix(rows, cols, weights_ ? sources.at(static_cast<size_t>(e))
                                                   : std::vector<const WeightMatrix*>{}, true, pieces);
      if (e == 0) first = m;
    }
    const size_t end = on_host_ ? plan_.host_bytes : plan_.bytes;
    on_host_ = false;
    const int64_t stride = count > 0 ? static_cast<int64_t>(end - start) / count : 0;
    first.fp8.expert_stride = stride;
    first.fp8.scale_stride = stride / 4;
    return first;
  }

  const float* vector(int64_t size, const Vector1D* source, bool is_norm) {
    Placement p;
    p.elements = size;
    p.f32 = true;
    p.is_norm = is_norm;
    p.offset = take(static_cast<size_t>(size) * 4);
    if (weights_) {
      if (!source || !source->present() || source->size != size)
        fail_input("CUDA engine: vector weight missing or not of size " + std::to_string(size));
      p.vectors = {source};
    }
    const float* out = reinterpret_cast<const float*>(base_ ? base_ + p.offset : nullptr);
    plan_.placements.push_back(std::move(p));
    return out;
  }

 private:
  size_t take(size_t bytes) {
    size_t& used = on_host_ ? plan_.host_bytes : plan_.bytes;
    size_t offset = used;
    used += (bytes + 255) / 256 * 256;
    return offset;
  }

  static int64_t scale_count(const Placement& p) {
    return (p.rows + p.scale_rows - 1) / p.scale_rows * fp8_scale_cols(p.cols);
  }

  const ModelWeights* weights_;
  char* base_;
  LayoutPlan& plan_;
  bool fp8_;
  bool experts_on_host_;
  char* host_base_;
  bool on_host_ = false;  // placing an expert block in the host arena
};

template <class T>
const T* at(const std::vector<T>& v, size_t i) {
  return i < v.size() ? &v[i] : nullptr;
}

}  // namespace

LayoutPlan plan_device_layout(const ModelConfig& c, const ModelWeights* w, char* base, DeviceModel& model, bool fp8,
                              bool experts_on_host, char* host_base) {
  LayoutPlan plan;
  Planner planner(w, base, plan, fp8, experts_on_host, host_base);
  const int64_t hidden = c.hidden_size;

  model.embed = planner.matrix(c.vocab_size, hidden, {w ? &w->embed_tokens : nullptr});
  model.final_norm = planner.vector(hidden, w ? &w->final_norm : nullptr, true);
  if (c.tie_word_embeddings) {
    model.lm_head = model.embed;
  } else {
    model.lm_head = planner.matrix(c.vocab_size, hidden, {w ? &w->lm_head : nullptr});
  }

  model.layers.assign(static_cast<size_t>(c.num_layers), DeviceLayer{});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights* lw = w ? &w->layers.at(static_cast<size_t>(l)) : nullptr;
    const AttentionWeights* aw = lw ? &lw->attention : nullptr;
    DeviceLayer& d = model.layers[static_cast<size_t>(l)];
    d.input_norm = planner.vector(hidden, lw ? &lw->input_norm : nullptr, true);
    d.post_attn_norm = planner.vector(hidden, lw ? &lw->post_attn_norm : nullptr, true);

    if (c.use_mla) {
      const int64_t q_rows = c.q_lora_rank > 0 ? c.q_lora_rank : c.num_heads * c.qk_head_dim();
      const int64_t kv_rows = c.kv_lora_rank + c.qk_rope_head_dim;
      d.in_proj = planner.matrix(q_rows + kv_rows, hidden,
                                 {aw ? (c.q_lora_rank > 0 ? &aw->q_a_proj : &aw->q_proj) : nullptr,
                                  aw ? &aw->kv_a_proj_with_mqa : nullptr},
                                 true, {q_rows, kv_rows});
      if (c.q_lora_rank > 0) {
        d.q_a_norm = planner.vector(c.q_lora_rank, aw ? &aw->q_a_norm : nullptr, true);
        d.q_b = planner.matrix(c.num_heads * c.qk_head_dim(), c.q_lora_rank, {aw ? &aw->q_b_proj : nullptr}, true);
      }
      d.kv_a_norm = planner.vector(c.kv_lora_rank, aw ? &aw->kv_a_norm : nullptr, true);
      d.kv_b = planner.matrix(c.num_heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank,
                              {aw ? &aw->kv_b_proj : nullptr});
    } else {
      const int64_t q_rows = c.num_heads * c.head_dim;
      const int64_t kv_rows = c.num_kv_heads * c.head_dim;
      d.in_proj = planner.matrix(q_rows + 2 * kv_rows, hidden,
                                 {aw ? &aw->q_proj : nullptr, aw ? &aw->k_proj : nullptr,
                                  aw ? &aw->v_proj : nullptr},
                                 true, {q_rows, kv_rows, kv_rows});
      if (c.qk_norm) {
        d.q_norm = planner.vector(c.head_dim, aw ? &aw->q_norm : nullptr, true);
        d.k_norm = planner.vector(c.head_dim, aw ? &aw->k_norm : nullptr, true);
      }
    }
    d.o_proj = planner.matrix(hidden, c.num_heads * c.value_head_dim(), {aw ? &aw->o_proj : nullptr}, true);

    d.is_moe = c.is_moe_layer(l);
    if (!d.is_moe) {
      const int64_t width = c.intermediate_size;
      d.dense_gate_up = planner.matrix(2 * width, hidden,
                                       {lw ? &lw->dense.gate : nullptr, lw ? &lw->dense.up : nullptr}, true,
                                       {width, width});
      d.dense_down = planner.matrix(hidden, width, {lw ? &lw->dense.down : nullptr}, true);
      continue;
    }
    const int64_t n_experts = c.n_routed_experts;
    const int64_t width = c.moe_intermediate_size;
    d.router = planner.matrix(n_experts, hidden, {lw ? &lw->router : nullptr});
    if (c.topk_method == TopkMethod::noaux_tc)
      d.router_bias = planner.vector(n_experts, lw ? &lw->router_bias : nullptr, false);
    std::vector<std::vector<const WeightMatrix*>> gate_up_sources;
    std::vector<std::vector<const WeightMatrix*>> down_sources;
    if (lw) {
      if (static_cast<int64_t>(lw->experts.size()) != n_experts)
        fail_input("CUDA engine: layer " + std::to_string(l) + " has " + std::to_string(lw->experts.size()) +
                   " bound experts, expected " + std::to_string(n_experts));
      for (int64_t e = 0; e < n_experts; ++e) {
        const FeedForwardWeights* ew = at(lw->experts, static_cast<size_t>(e));
        gate_up_sources.push_back({&ew->gate, &ew->up});
        down_sources.push_back({&ew->down});
      }
    }
    const DeviceMatrix gate_up = planner.expert_block(n_experts, 2 * width, hidden, gate_up_sources, {width, width});
    const DeviceMatrix down = planner.expert_block(n_experts, hidden, width, down_sources, {});
    d.experts_gate_up = gate_up.data;
    d.experts_down = down.data;
    if (gate_up.fp8) d.experts_gate_up_fp8 = gate_up.fp8;
    if (down.fp8) d.experts_down_fp8 = down.fp8;
    if (c.n_shared_experts > 0) {
      const int64_t shared = c.n_shared_experts * width;
      d.shared_gate_up = planner.matrix(2 * shared, hidden,
                                        {lw ? &lw->shared.gate : nullptr, lw ? &lw->shared.up : nullptr}, true,
                                        {shared, shared});
      d.shared_down = planner.matrix(hidden, shared, {lw ? &lw->shared.down : nullptr}, true);
    }
  }
  return plan;
}

size_t device_weight_bytes(const ModelConfig& config, bool fp8) {
  DeviceModel scratch;
  return plan_device_layout(config, nullptr, nullptr, scratch, fp8).bytes;
}

size_t device_expert_bytes(const ModelConfig& config, bool fp8) {
  if (config.n_routed_experts == 0) return 0;
  LayoutPlan plan;
  Planner planner(nullptr, nullptr, plan, fp8);
  const int64_t width = config.moe_intermediate_size;
  planner.matrix(2 * width, config.hidden_size, {}, true, {width, width});
  planner.matrix(config.hidden_size, width, {}, true);
  return plan.bytes;
}

}  // namespace moescope::gpu
