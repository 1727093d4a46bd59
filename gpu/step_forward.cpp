// One forward step on the GPU, layer by layer. Steps of at most kMaxDecodeTokens tokens use the
// GEMV kernels and never wait on the host (so a one-token step is captured as a CUDA graph); longer
// steps use cuBLAS, and wait once per MoE layer for the per-expert token counts.
#include <algorithm>
#include <optional>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_engine_impl.h"
#include "gpu/gemm.h"
#include "gpu/programmatic_launch.h"

namespace moescope::gpu {

void CudaEngine::run_step(const StepPlan& plan, Workspace& ws, RoutingHost& host, PhaseRecorder& rec) {
  const ModelConfig& c = config_;
  const int T = plan.T;
  const int hidden = static_cast<int>(c.hidden_size);
  // --pdl: the GEMV path's kernels (no cuBLAS there) launch with programmatic dependent launch.
  const ProgrammaticLaunchScope programmatic_launch(plan.gemv && options_.programmatic_launch);

  rec.begin(-1, Phase::embed);
  launch_embed(ws.tokens, T, model_.embed.data, hidden, ws.h, stream_);
  rec.end();

  int moe_index = 0;
  for (int l = 0; l < static_cast<int>(c.num_layers); ++l) {
    const DeviceLayer& L = model_.layers[static_cast<size_t>(l)];
    rec.begin(l, Phase::attention);
    rmsnorm(ws.h, hidden, L.input_norm, hidden, ws.xb, hidden, T, nullptr);
    if (c.use_mla) {
      attention_mla(plan, ws, l);
    } else {
      attention_gqa(plan, ws, l);
    }
    rec.end();

    rmsnorm(ws.h, hidden, L.post_attn_norm, hidden, ws.xb, hidden, T, nullptr, L.is_moe ? ws.xlo : nullptr);
    if (L.is_moe) {
      moe(plan, ws, host, rec, l, moe_index++);
    } else {
      rec.begin(l, Phase::dense_mlp);
      swiglu_ffn(plan, ws, L.dense_gate_up, L.dense_down);
      rec.end();
    }
  }

  rec.begin(-1, Phase::lm_head);
  const int rows = plan.all_logits ? T : 1;
  const int first = T - rows;
  rmsnorm(ws.h + static_cast<int64_t>(first) * hidden, hidden, model_.final_norm, hidden, ws.xb, hidden, rows,
          nullptr);
  const int vocab = static_cast<int>(c.vocab_size);
  if (plan.gemv) {
    launch_gemv(model_.lm_head.data, vocab, hidden, ws.xb, hidden, rows, ws.logits, vocab, GemvOut::store_f32,
                stream_);
  } else {
    gemm_nt(blas_, rows, vocab, hidden, ws.xb, hidden, model_.lm_head.data, hidden, ws.logits, OutType::f32,
            vocab);
  }
  rec.end();
  if (routing_slots(plan, ws, host, 0).on_device) copy_routing_capture(plan, host);
}

void CudaEngine::rmsnorm(const float* x, int64_t ldx, const float* w, int n, bf16* out, int64_t ldo, int rows,
                         const int* row_offset, bf16* out_lo) {
  const float eps = static_cast<float>(config_.rms_norm_eps);
  if (options_.fast_kernels &&
      launch_rmsnorm_vectorised(x, ldx, w, n, eps, out, ldo, rows, row_offset, stream_, out_lo))
    return;
  launch_rmsnorm(x, ldx, w, n, eps, out, ldo, rows, row_offset, stream_, out_lo);
}

void CudaEngine::swiglu(const bf16* gu, int64_t N, int I, bf16* act) {
  if (options_.fast_prefill_kernels && launch_swiglu_vectorised(gu, N, I, act, stream_)) return;
  launch_swiglu(gu, N, I, act, stream_);
}

void CudaEngine::combine(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k,
                         int hidden, float* h) {
  if (options_.fast_prefill_kernels &&
      launch_combine_vectorised(y, slot_of, weights, T, k, hidden, h, stream_))
    return;
  launch_combine(y, slot_of, weights, T, k, hidden, h, stream_);
}

RoutingSlots CudaEngine::routing_slots(const StepPlan& plan, Workspace& ws, RoutingHost& host,
                                       int moe_index) const {
  if (plan.gemv && plan.record && host.d_ids.bytes() > 0) {
    const size_t row0 = static_cast<size_t>(moe_index) * static_cast<size_t>(host.tokens);
    const size_t E = static_cast<size_t>(config_.n_routed_experts), k = static_cast<size_t>(config_.top_k);
    return {host.d_logits.as<float>() + row0 * E,    host.d_scores.as<float>() + row0 * E,
            host.d_ids.as<int32_t>() + row0 * k,     host.d_weights.as<float>() + row0 * k,
            host.d_dropped.as<uint8_t>() + row0 * k, true};
  }
  return {ws.router_logits, ws.scores, ws.ids, ws.weights, ws.dropped, false};
}

// The step's routing, every MoE layer at once: one copy per array instead of per layer and array.
void CudaEngine::copy_routing_capture(const StepPlan& plan, RoutingHost& host) {
  const size_t rows = moe_layers_.size() * static_cast<size_t>(host.tokens);
  const size_t E = static_cast<size_t>(config_.n_routed_experts), k = static_cast<size_t>(config_.top_k);
  auto copy = [&](const PinnedBuffer& dst, const DeviceBuffer& src, size_t bytes) {
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToHost, stream_));
  };
  if (plan.full) {
    copy(host.logits, host.d_logits, rows * E * sizeof(float));
    copy(host.scores, host.d_scores, rows * E * sizeof(float));
  }
  copy(host.ids, host.d_ids, rows * k * sizeof(int32_t));
  copy(host.weights, host.d_weights, rows * k * sizeof(float));
  if (plan.capacity > 0) copy(host.dropped, host.d_dropped, rows * k);
}

void CudaEngine::attention_gqa(const StepPlan& plan, Workspace& ws, int layer) {
  const ModelConfig& c = config_;
  const DeviceLayer& L = model_.layers[static_cast<size_t>(layer)];
  const int T = plan.T, hidden = static_cast<int>(c.hidden_size);
  const int H = static_cast<int>(c.num_heads), kvH = static_cast<int>(c.num_kv_heads),
            d = static_cast<int>(c.head_dim);
  const int rows = static_cast<int>(L.in_proj.rows);
  if (plan.gemv) {
    weight_gemv(L.in_proj, ws.xb, hidden, T, ws.proj, rows, GemvOut::store_f32);
  } else {
    weight_gemm(T, L.in_proj, ws.xb, hidden, ws.proj, OutType::f32, rows);
  }
  bf16* k_cache = kv_.k[static_cast<size_t>(layer)];
  bf16* v_cache = kv_.v[static_cast<size_t>(layer)];
  launch_gqa_prepare(ws.proj, T, H, kvH, d, L.q_norm, L.k_norm, static_cast<float>(c.rms_norm_eps), rope_,
                     pos_.as<int>(), ws.q, k_cache, v_cache, stream_);
  if (plan.gemv) {
    DecodeAttention a;
    a.q = ws.q;
    a.q_stride_t = static_cast<int64_t>(H) * d;
    a.k = k_cache;
    a.k_stride_pos = static_cast<int64_t>(kvH) * d;
    a.k_stride_head = d;
    a.v = v_cache;
    a.v_stride_pos = static_cast<int64_t>(kvH) * d;
    a.v_stride_head = d;
    a.dk = a.dv = d;
    a.heads = H;
    a.group = H / kvH;
    a.T = T;
    a.scale = static_cast<float>(c.attention_scale());
    a.d_pos = pos_.as<int>();
    a.chunk = decode_chunk_;
    a.n_splits = static_cast<int>(splits_);
    a.part_o = ws.part_o;
    a.part_ml = ws.part_ml;
    a.out = ws.attn;
    a.out_stride_t = static_cast<int64_t>(H) * d;
    a.vectorised = options_.fast_kernels;
    a.context_splits = options_.context_splits;
    a.merge_weights_once = options_.fast_merge;
    launch_decode_attention(a, stream_);
  } else {
    prefill_attention(plan, ws, ws.q, static_cast<int64_t>(H) * d, k_cache, static_cast<int64_t>(kvH) * d, d,
                      v_cache, static_cast<int64_t>(kvH) * d, d, d, d, H / kvH);
  }
  const int o_cols = H * d;
  if (plan.gemv) {
    weight_gemv(L.o_proj, ws.attn, o_cols, T, ws.h, hidden, GemvOut::add_f32);
  } else {
    weight_gemm(T, L.o_proj, ws.attn, o_cols, ws.h, OutType::f32, hidden, 1.0f);
  }
}

void CudaEngine::attention_mla(const StepPlan& plan, Workspace& ws, int layer) {
  const ModelConfig& c = config_;
  const DeviceLayer& L = model_.layers[static_cast<size_t>(layer)];
  const int T = plan.T, hidden = static_cast<int>(c.hidden_size);
  const int H = static_cast<int>(c.num_heads), nope = static_cast<int>(c.qk_nope_head_dim);
  const int rope_dim = static_cast<int>(c.qk_rope_head_dim), dv = static_cast<int>(c.v_head_dim);
  const int kv_lora = static_cast<int>(c.kv_lora_rank), q_lora = static_cast<int>(c.q_lora_rank);
  const int qk = nope + rope_dim, latent_w = kv_lora + rope_dim;
  const int rows = static_cast<int>(L.in_proj.rows);
  const int q_part = q_lora > 0 ? q_lora : H * qk;

  // proj (T, q_part + kv_lora + rope) = x . [q_a | q_proj ; kv_a]^T
  if (plan.gemv) {
    weight_gemv(L.in_proj, ws.xb, hidden, T, ws.proj, rows, GemvOut::store_f32);
  } else {
    weight_gemm(T, L.in_proj, ws.xb, hidden, ws.proj, OutType::f32, rows);
  }
  const float* q_src = ws.proj;
  int64_t ldq = rows;
  if (q_lora > 0) {
    rmsnorm(ws.proj, rows, L.q_a_norm, q_lora, ws.qa, q_lora, T, nullptr);
    if (plan.gemv) {
      weight_gemv(L.q_b, ws.qa, q_lora, T, ws.qf, H * qk, GemvOut::store_f32);
    } else {
      weight_gemm(T, L.q_b, ws.qa, q_lora, ws.qf, OutType::f32, H * qk);
    }
    q_src = ws.qf;
    ldq = H * qk;
  }
  bf16* latent = kv_.latent[static_cast<size_t>(layer)];
  // The normed latent goes straight into the cache rows of this step's positions.
  rmsnorm(ws.proj + q_part, rows, L.kv_a_norm, kv_lora, latent, latent_w, T, pos_.as<int>());
  launch_mla_rope(q_src, ldq, ws.proj + q_part + kv_lora, rows, T, H, nope, rope_dim, rope_, pos_.as<int>(),
                  ws.q, latent, kv_lora, stream_);

  if (plan.gemv) {
    // Absorbed MLA: attend over the compressed latent cache directly (one shared "kv head").
    if (!options_.fast_kernels ||
        !launch_mla_absorb_streaming(ws.q, L.kv_b.data, T, H, nope, dv, kv_lora, rope_dim, ws.q_abs, stream_))
      launch_mla_absorb(ws.q, L.kv_b.data, T, H, nope, dv, kv_lora, rope_dim, ws.q_abs, stream_);
    DecodeAttention a;
    a.q = ws.q_abs;
    a.q_stride_t = static_cast<int64_t>(H) * latent_w;
    a.k = latent;
    a.k_stride_pos = latent_w;
    a.k_stride_head = 0;
    a.v = latent;
    a.v_stride_pos = latent_w;
    a.v_stride_head = 0;
    a.dk = latent_w;
    a.dv = kv_lora;
    a.heads = H;
    a.group = H;
    a.T = T;
    a.scale = static_cast<float>(c.attention_scale());
    a.d_pos = pos_.as<int>();
    a.chunk = decode_chunk_;
    a.n_splits = static_cast<int>(splits_);
    a.part_o = ws.part_o;
    a.part_ml = ws.part_ml;
    a.out = ws.o_lat;
    a.out_stride_t = static_cast<int64_t>(H) * kv_lora;
    a.vectorised = options_.fast_kernels;
    a.context_splits = options_.context_splits;
    a.merge_weights_once = options_.fast_merge;
    launch_decode_attention(a, stream_);
    if (!options_.fast_kernels ||
        !launch_mla_uv_streaming(ws.o_lat, L.kv_b.data, T, H, nope, dv, kv_lora, ws.attn, stream_))
      launch_mla_uv(ws.o_lat, L.kv_b.data, T, H, nope, dv, kv_lora, ws.attn, stream_);
  } else {
    // Prefill: expand every cached latent to per-head keys and values, then plain attention.
    const int64_t Lk = plan.p0 + T;
    const int kv_cols = H * (nope + dv);
    gemm_nt(blas_, Lk, kv_cols, kv_lora, latent, latent_w, L.kv_b.data, kv_lora, ws.kvx, OutType::bf16,
            kv_cols);
    launch_mla_expand_k(ws.kvx, latent, static_cast<int>(Lk), H, nope, dv, rope_dim, kv_lora, ws.kfull,
                        stream_);
    prefill_attention(plan, ws, ws.q, static_cast<int64_t>(H) * qk, ws.kfull, static_cast<int64_t>(H) * qk,
                      qk, ws.kvx + nope, kv_cols, nope + dv, qk, dv, 1);
  }
  const int o_cols = H * dv;
  if (plan.gemv) {
    weight_gemv(L.o_proj, ws.attn, o_cols, T, ws.h, hidden, GemvOut::add_f32);
  } else {
    weight_gemm(T, L.o_proj, ws.attn, o_cols, ws.h, OutType::f32, hidden, 1.0f);
  }
}

// softmax(scale q k^T, causal) v for every head: through the flash-prefill or the fused kernel when
// the options ask for one and it takes these shapes, else in chunks of heads that share the score
// buffer.
// q (T, H, dk) rows of q_ld; k/v rows of k_ld/v_ld with the kv head h/group at h/group*head_stride.
void CudaEngine::prefill_attention(const StepPlan& plan, Workspace& ws, const bf16* q, int64_t q_ld,
                                   const bf16* k, int64_t k_ld, int64_t k_head_stride, const bf16* v,
                                   int64_t v_ld, int64_t v_head_stride, int dk, int dv, int group) {
  const ModelConfig& c = config_;
  const int T = plan.T, H = static_cast<int>(c.num_heads);
  const int64_t Lk = plan.p0 + T;
  const float scale = static_cast<float>(c.attention_scale());
  if (options_.flash_prefill || options_.fused_attention) {
    FlashPrefill f;
    f.q = q;
    f.q_ld = q_ld;
    f.k = k;
    f.k_ld = k_ld;
    f.k_head_stride = k_head_stride;
    f.v = v;
    f.v_ld = v_ld;
    f.v_head_stride = v_head_stride;
    f.out = ws.attn;
    f.out_ld = static_cast<int64_t>(H) * dv;
    f.dk = dk;
    f.dv = dv;
    f.heads = H;
    f.group = group;
    f.T = T;
    f.Lk = static_cast<int>(Lk);
    f.p0 = static_cast<int>(plan.p0);
    f.scale = scale;
    if (options_.flash_prefill && launch_flash_prefill_mma(f, stream_)) return;
    if (options_.fused_attention && launch_flash_prefill(f, stream_)) return;
  }
  const int chunk = static_cast<int>(ws.shape.head_chunk);
  for (int h0 = 0; h0 < H; h0 += chunk) {
    const int nh = std::min(chunk, H - h0);
    const int64_t kv_head = h0 / group;
    // Heads of one chunk share a kv head under GQA (chunk == group): stride 0 broadcasts it.
    const int64_t k_stride = group > 1 ? 0 : k_head_stride;
    const int64_t v_stride = group > 1 ? 0 : v_head_stride;
    gemm_nt_batched(blas_, T, Lk, dk, q + static_cast<int64_t>(h0) * dk, q_ld, dk,
                    k + kv_head * k_head_stride, k_ld, k_stride, ws.scores_qk, OutType::f32, Lk, T * Lk, nh,
                    scale);
    launch_causal_softmax(ws.scores_qk, ws.probs, nh, T, static_cast<int>(Lk), static_cast<int>(plan.p0),
                          stream_);
    gemm_nn_batched(blas_, T, dv, Lk, ws.probs, Lk, T * Lk, v + kv_head * v_head_stride, v_ld, v_stride,
                    ws.attn + static_cast<int64_t>(h0) * dv, OutType::bf16, static_cast<int64_t>(H) * dv, dv,
                    nh);
  }
}

// h += down(silu(gate x) * up x) for a dense MLP or the shared experts.
void CudaEngine::swiglu_ffn(const StepPlan& plan, Workspace& ws, const DeviceMatrix& gate_up,
                            const DeviceMatrix& down) {
  const int T = plan.T, hidden = static_cast<int>(config_.hidden_size);
  const int width = static_cast<int>(down.cols);
  if (plan.gemv) {
    weight_swiglu_gemv(gate_up, nullptr, T, 1, ws.xb, hidden, width, hidden, ws.act);
    weight_gemv(down, ws.act, width, T, ws.h, hidden, GemvOut::add_f32);
  } else {
    weight_gemm(T, gate_up, ws.xb, hidden, ws.gu, OutType::bf16, 2 * width);
    swiglu(ws.gu, T, width, ws.act);
    weight_gemm(T, down, ws.act, width, ws.h, OutType::f32, hidden, 1.0f);
  }
}

void CudaEngine::moe(const StepPlan& plan, Workspace& ws, RoutingHost& host, PhaseRecorder& rec, int layer,
                     int moe_index) {
  const ModelConfig& c = config_;
  const DeviceLayer& L = model_.layers[static_cast<size_t>(layer)];
  const int T = plan.T, hidden = static_cast<int>(c.hidden_size);
  const int E = static_cast<int>(c.n_routed_experts), k = static_cast<int>(c.top_k);
  const int I = static_cast<int>(c.moe_intermediate_size);
  const int A = T * k;
  const RoutingSlots slots = routing_slots(plan, ws, host, moe_index);
  // Emulated expert parallelism: this step's exchange between rank buffers (gpu/ep_exchange.cu).
  const std::optional<EpExchange> exchange =
      ep_ ? std::make_optional(ep_exchange(ws, slots.ids, T)) : std::nullopt;

  rec.begin(layer, Phase::router);
  RouteParams rp;
  rp.logits = slots.logits;
  rp.T = T;
  rp.E = E;
  rp.k = k;
  rp.sigmoid = c.scoring == ScoringFunc::sigmoid;
  rp.method = static_cast<int>(c.topk_method);
  rp.n_group = static_cast<int>(c.n_group);
  rp.topk_group = static_cast<int>(c.topk_group);
  rp.bias = L.router_bias;
  // As core/routing.cpp: renormalise only for k > 1; DeepSeek-V2 scales only what it did not renormalise.
  rp.norm_topk = c.norm_topk_prob && k > 1;
  const bool scale = c.family == Family::deepseek_v2 ? !rp.norm_topk : true;
  rp.scaling = scale ? static_cast<float>(c.routed_scaling_factor) : 1.0f;
  rp.scores = slots.scores;
  rp.ids = slots.ids;
  rp.weights = slots.weights;
  rp.warp_topk = options_.warp_topk;
  // logits = W (xb + xlo): the fp32 normed input to ~16 bits, on the tensor cores.
  if (plan.gemv && options_.fast_kernels && options_.fused_routing) {
    launch_router_route(L.router.data, E, hidden, ws.xb, ws.xlo, hidden, slots.logits, rp,
                        route_blocks_done_.as<unsigned>(), stream_);
  } else {
    if (plan.gemv && options_.fast_kernels) {
      launch_router_gemv(L.router.data, E, hidden, ws.xb, ws.xlo, hidden, T, slots.logits, stream_);
      rp.threads = 32;
    } else if (plan.gemv) {
      launch_gemv(L.router.data, E, hidden, ws.xb, hidden, T, slots.logits, E, GemvOut::store_f32, stream_);
      launch_gemv(L.router.data, E, hidden, ws.xlo, hidden, T, slots.logits, E, GemvOut::add_f32, stream_);
    } else {
      gemm_nt(blas_, T, E, hidden, ws.xb, hidden, L.router.data, hidden, slots.logits, OutType::f32, E);
      gemm_nt(blas_, T, E, hidden, ws.xlo, hidden, L.router.data, hidden, slots.logits, OutType::f32, E, 1.0f,
              1.0f);
    }
    launch_route(rp, stream_);
  }
  rec.end();

  rec.begin(layer, Phase::dispatch);
  const bool capped = plan.capacity > 0;
  if (!plan.gemv || capped) {
    launch_dispatch_ranks(slots.ids, A, E, plan.capacity, ws.rank, ws.counts, slots.dropped, ws.offsets,
                          stream_);
  }
  if (!plan.gemv) {
    CUDA_CHECK(cudaMemcpyAsync(offsets_host_.data(), ws.offsets, static_cast<size_t>(E + 1) * sizeof(int32_t),
                               cudaMemcpyDeviceToHost, stream_));
  }
  if (plan.record && !slots.on_device) {
    const size_t row0 = static_cast<size_t>(moe_index) * static_cast<size_t>(host.tokens);
    auto copy = [&](void* dst_base, size_t elem, size_t row_elems, const void* src) {
      CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst_base) + row0 * row_elems * elem, src,
                                 static_cast<size_t>(T) * row_elems * elem, cudaMemcpyDeviceToHost, stream_));
    };
    if (plan.full) {
      copy(host.logits.data(), sizeof(float), E, slots.logits);
      copy(host.scores.data(), sizeof(float), E, slots.scores);
    }
    copy(host.ids.data(), sizeof(int32_t), k, slots.ids);
    copy(host.weights.data(), sizeof(float), k, slots.weights);
    if (capped) copy(host.dropped.data(), 1, k, slots.dropped);
  }
  // Prefill: the GEMM shapes need the per-expert counts on the host.
  int pad = 0;
  const int32_t* off = offsets_host_.as<int32_t>();
  if (!plan.gemv) {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    int64_t busiest = 0;
    for (int e = 0; e < E; ++e) busiest = std::max<int64_t>(busiest, off[e + 1] - off[e]);
    // Padding every expert to the busiest one's count turns E small GEMMs into one batched GEMM;
    // worth it while the padding at most doubles the rows (balanced routing).
    // fp8 experts are dequantised, and offloaded ones copied in, one expert at a time, so they take
    // the per-expert GEMMs.
    // --grouped-prefill packs the experts back to back instead: one grouped GEMM covers them unpadded.
    if (busiest > 0 && busiest * E <= 2LL * off[E] && !L.experts_gate_up_fp8 && !offload_ &&
        !options_.grouped_prefill)
      pad = static_cast<int>(busiest);
    launch_gather(slots.ids, ws.rank, slots.dropped, ws.offsets, A, k, pad, ws.xb, hidden, ws.xs, ws.slot_of, stream_);
  }
  if (exchange) launch_ep_gather(*exchange, stream_);
  rec.end();
  if (exchange) {
    rec.begin(layer, Phase::all_to_all);
    launch_ep_exchange(*exchange, false, stream_);
    rec.end();
  }

  const int64_t gu_stride = 2LL * I * hidden, down_stride = static_cast<int64_t>(hidden) * I;
  const ExpertBlocks experts = resident_experts(layer);
  rec.begin(layer, Phase::experts);
  if (!offload_ && plan.gemv && options_.fused_experts && fused_experts(plan, ws, L, slots, capped)) {
    rec.end();  // the shared experts ran inside the experts phase
    if (exchange) {
      rec.begin(layer, Phase::all_to_all);
      launch_ep_exchange(*exchange, true, stream_);
      rec.end();
    }
    return;
  }
  if (offload_) {
    offloaded_experts(plan, ws, slots, capped, moe_index, off);
  } else if (plan.gemv) {
    weight_swiglu_gemv(experts.gate_up, slots.ids, T, k, ws.xb, hidden, I, hidden, ws.act);
    // The weighted combine is fused into the down projection on this path.
    weight_down_combine_gemv(experts.down, slots.ids, slots.weights, capped ? slots.dropped : nullptr, T, k, ws.act, I,
                             hidden, ws.h);
  } else if (pad > 0) {
    gemm_nt_batched(blas_, pad, 2 * I, hidden, ws.xs, hidden, static_cast<int64_t>(pad) * hidden,
                    L.experts_gate_up, hidden, gu_stride, ws.gu, OutType::bf16, 2 * I, 2LL * pad * I, E,
                    1.0f);
    swiglu(ws.gu, static_cast<int64_t>(pad) * E, I, ws.act);
    gemm_nt_batched(blas_, pad, hidden, I, ws.act, I, static_cast<int64_t>(pad) * I, L.experts_down, I,
                    down_stride, ws.ys, OutType::bf16, hidden, static_cast<int64_t>(pad) * hidden, E, 1.0f);
  } else {
    const bool grouped = options_.grouped_prefill;
    if (!grouped ||
        !grouped_expert_gemm(experts.gate_up, ws.xs, hidden, ws.gu, 2LL * I, off, 2 * moe_index)) {
      for (int e = 0; e < E; ++e) {
        const int64_t n = off[e + 1] - off[e];
        if (n == 0) continue;
        weight_gemm(n, expert_matrix(experts.gate_up, e), ws.xs + off[e] * static_cast<int64_t>(hidden),
                    hidden, ws.gu + off[e] * 2LL * I, OutType::bf16, 2 * I);
      }
    }
    swiglu(ws.gu, off[E], I, ws.act);
    if (!grouped || !grouped_expert_gemm(experts.down, ws.act, I, ws.ys, hidden, off, 2 * moe_index + 1)) {
      for (int e = 0; e < E; ++e) {
        const int64_t n = off[e + 1] - off[e];
        if (n == 0) continue;
        weight_gemm(n, expert_matrix(experts.down, e), ws.act + off[e] * static_cast<int64_t>(I), I,
                    ws.ys + off[e] * static_cast<int64_t>(hidden), OutType::bf16, hidden);
      }
    }
  }
  rec.end();

  if (!plan.gemv) {
    rec.begin(layer, Phase::combine);
    combine(ws.ys, ws.slot_of, slots.weights, T, k, hidden, ws.h);
    rec.end();
  }

  if (exchange) {
    rec.begin(layer, Phase::all_to_all);
    launch_ep_exchange(*exchange, true, stream_);
    rec.end();
  }

  if (L.shared_gate_up.rows > 0) {
    rec.begin(layer, Phase::shared_experts);
    swiglu_ffn(plan, ws, L.shared_gate_up, L.shared_down);
    rec.end();
  }
}

// --fused-experts: routed and shared experts of a decode step in two launches (gpu/fused_experts.cu).
// False, launching nothing, for shapes the fused kernels do not take.
bool CudaEngine::fused_experts(const StepPlan& plan, Workspace& ws, const DeviceLayer& L,
                               const RoutingSlots& slots, bool capped) {
  // The fused kernels read bf16 weights: fp8 ones (--weights fp8) take the per-weight kernels.
  if (!L.experts_gate_up || (L.shared_gate_up.rows > 0 && !L.shared_gate_up.data)) return false;
  const ModelConfig& c = config_;
  FusedExperts f;
  f.hidden = static_cast<int>(c.hidden_size);
  f.I = static_cast<int>(c.moe_intermediate_size);
  f.gate_up = L.experts_gate_up;
  f.gate_up_stride = 2LL * f.I * f.hidden;
  f.down = L.experts_down;
  f.down_stride = static_cast<int64_t>(f.hidden) * f.I;
  f.ids = slots.ids;
  f.weights = slots.weights;
  f.dropped = capped ? slots.dropped : nullptr;
  if (L.shared_gate_up.rows > 0) {
    f.shared_gate_up = L.shared_gate_up.data;
    f.shared_down = L.shared_down.data;
    f.Is = static_cast<int>(L.shared_down.cols);
  }
  f.x = ws.xb;
  f.ldx = f.hidden;
  f.act = ws.act;
  f.h = ws.h;
  f.T = plan.T;
  f.k = static_cast<int>(c.top_k);
  return launch_fused_experts(f, stream_);
}

EpExchange CudaEngine::ep_exchange(const Workspace& ws, const int32_t* ids, int T) const {
  EpExchange x;
  x.ids = ids;
  x.copy_offsets = ep_copy_offsets_.as<int32_t>();
  x.copy_ranks = ep_copy_ranks_.as<int32_t>();
  x.x = ws.xb;
  x.send = ws.ep_send;
  x.recv = ws.ep_recv;
  x.pair_rows = ws.ep_pair_rows;
  x.pair_cursor = ws.ep_pair_cursor;
  x.send_offset = ws.ep_send_offset;
  x.recv_offset = ws.ep_recv_offset;
  x.T = T;
  x.k = static_cast<int>(config_.top_k);
  x.E = static_cast<int>(config_.n_routed_experts);
  x.R = ep_->placement.n_ranks;
  x.hidden = static_cast<int>(config_.hidden_size);
  return x;
}

}  // namespace moescope::gpu
