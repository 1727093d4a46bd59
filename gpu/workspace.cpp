#include "gpu/workspace.h"

#include <algorithm>
#include <type_traits>

namespace moescope::gpu {
namespace {

// Places every buffer; with base null it only counts.
size_t place(const ModelConfig& c, const WorkspaceShape& s, char* base, Workspace& w) {
  ArenaPlanner plan;
  auto take = [&](auto*& ptr, int64_t count) {
    using T = std::remove_pointer_t<std::remove_reference_t<decltype(ptr)>>;
    size_t offset = plan.take(static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(T));
    ptr = base ? reinterpret_cast<T*>(base + offset) : nullptr;
  };
  const int64_t T = s.tokens, Lk = s.keys, H = c.num_heads, hidden = c.hidden_size;
  const int64_t qk = c.qk_head_dim(), dv = c.value_head_dim();
  const int64_t E = std::max<int64_t>(c.n_routed_experts, 1), k = std::max<int64_t>(c.top_k, 1);
  int64_t in_rows = 0;
  if (c.use_mla) {
    in_rows = (c.q_lora_rank > 0 ? c.q_lora_rank : H * qk) + c.kv_lora_rank + c.qk_rope_head_dim;
  } else {
    in_rows = (H + 2 * c.num_kv_heads) * c.head_dim;
  }
  const int64_t shared_width = c.n_shared_experts * c.moe_intermediate_size;
  // Expert rows: up to 2*T*k when experts are padded to the busiest one's count (step_forward.cpp).
  const int64_t expert_rows = 2 * T * k;
  // The last term: --fused-experts keeps the routed and the shared activations side by side.
  const int64_t ffn_elems = std::max({T * c.intermediate_size, expert_rows * c.moe_intermediate_size,
                                      T * shared_width, T * (k * c.moe_intermediate_size + shared_width)});
  const int64_t latent = c.kv_lora_rank + c.qk_rope_head_dim;
  const int64_t decode_dv = c.use_mla ? c.kv_lora_rank : dv;

  take(w.tokens, T);
  take(w.h, T * hidden);
  take(w.xb, T * hidden);
  take(w.xlo, T * hidden);
  take(w.proj, T * in_rows);
  take(w.attn, T * H * dv);
  take(w.q, T * H * qk);
  if (c.use_mla) {
    take(w.qf, T * H * qk);
    take(w.qa, T * c.q_lora_rank);
  }
  if (s.splits > 0) {
    if (c.use_mla) {
      take(w.q_abs, T * H * latent);
      take(w.o_lat, T * H * c.kv_lora_rank);
    }
    take(w.part_o, T * H * s.splits * decode_dv);
    take(w.part_ml, T * H * s.splits * 2);
  }
  if (Lk > 0) {
    take(w.scores_qk, s.head_chunk * T * Lk);
    take(w.probs, s.head_chunk * T * Lk);
    if (c.use_mla) {
      take(w.kvx, Lk * H * (c.qk_nope_head_dim + dv));
      take(w.kfull, Lk * H * qk);
    }
  }
  take(w.gu, 2 * ffn_elems);
  take(w.act, ffn_elems);
  take(w.xs, expert_rows * hidden);
  take(w.ys, expert_rows * hidden);
  take(w.router_logits, T * E);
  take(w.scores, T * E);
  take(w.ids, T * k);
  take(w.weights, T * k);
  take(w.rank, T * k);
  take(w.slot_of, T * k);
  take(w.dropped, T * k);
  take(w.counts, E);
  take(w.offsets, E + 1);
  take(w.logits, T * c.vocab_size);
  if (s.ep_ranks > 1) {
    const int64_t pairs = s.ep_ranks * s.ep_ranks;
    take(w.ep_send, T * k * hidden);
    take(w.ep_recv, T * k * hidden);
    take(w.ep_pair_rows, pairs);
    take(w.ep_pair_cursor, pairs);
    take(w.ep_send_offset, pairs);
    take(w.ep_recv_offset, pairs);
  }
  return plan.used();
}

}  // namespace

size_t workspace_bytes(const ModelConfig& config, const WorkspaceShape& shape) {
  Workspace scratch;
  return place(config, shape, nullptr, scratch);
}

Workspace make_workspace(const ModelConfig& config, const WorkspaceShape& shape) {
  Workspace w;
  w.shape = shape;
  w.arena = DeviceBuffer(place(config, shape, nullptr, w));
  place(config, shape, w.arena.as<char>(), w);
  return w;
}

}  // namespace moescope::gpu
