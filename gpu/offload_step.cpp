// One MoE layer's routed experts when they are offloaded (gpu/expert_offload.h): read the layer's
// chosen experts back, look them up in its cache, then run the same expert kernels as a resident
// model over the cache slots, one round per at most `slots` experts. With every expert of the step
// in one round this is the resident computation exactly (the same kernels on the same bytes).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_engine_impl.h"

namespace moescope::gpu {

void CudaEngine::offloaded_experts(const StepPlan& plan, Workspace& ws, const RoutingSlots& slots, bool capped,
                                   int moe_index, const int32_t* off) {
  const ModelConfig& c = config_;
  const int T = plan.T, k = static_cast<int>(c.top_k), A = T * k;
  const int hidden = static_cast<int>(c.hidden_size), I = static_cast<int>(c.moe_intermediate_size);
  const size_t id_bytes = static_cast<size_t>(A) * sizeof(int32_t);
  if (offload_ids_host_.bytes() < id_bytes + static_cast<size_t>(A))
    offload_ids_host_ = PinnedBuffer(id_bytes + static_cast<size_t>(A));
  int32_t* ids = offload_ids_host_.as<int32_t>();
  uint8_t* dropped = offload_ids_host_.as<uint8_t>() + id_bytes;
  CUDA_CHECK(cudaMemcpyAsync(ids, slots.ids, id_bytes, cudaMemcpyDeviceToHost, stream_));
  if (capped) CUDA_CHECK(cudaMemcpyAsync(dropped, slots.dropped, static_cast<size_t>(A), cudaMemcpyDeviceToHost, stream_));
  // --offload-prefetch (decode): the next MoE layer's router on this layer's normed hidden state
  // (ws.xb, its own router's input), read back with this layer's ids in the same synchronisation.
  const int next = moe_index + 1;
  const bool prefetch = options_.offload_prefetch && plan.gemv && next < static_cast<int>(moe_layers_.size());
  const int E = static_cast<int>(c.n_routed_experts);
  if (prefetch) {
    const DeviceLayer& N = model_.layers[static_cast<size_t>(moe_layers_[static_cast<size_t>(next)])];
    launch_gemv(N.router.data, E, hidden, ws.xb, hidden, T, prefetch_logits_.as<float>(), E, GemvOut::store_f32, stream_);
    CUDA_CHECK(cudaMemcpyAsync(prefetch_logits_host_.data(), prefetch_logits_.data(),
                               static_cast<size_t>(T) * static_cast<size_t>(E) * sizeof(float), cudaMemcpyDeviceToHost,
                               stream_));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));

  // The lookups: each expert once per step, in order of first use (core/analysis/offload_whatif.h).
  std::vector<int32_t> experts;
  for (int a = 0; a < A; ++a)
    if (std::find(experts.begin(), experts.end(), ids[a]) == experts.end()) experts.push_back(ids[a]);
  offload_->begin_layer(moe_index, experts);
  const ExpertBlocks blocks = offload_->blocks(moe_index);

  if (!plan.gemv) {
    for (auto round = offload_->next_round(offload_->slots(), stream_); !round.empty();
         round = offload_->next_round(offload_->slots(), stream_)) {
      for (const auto& [e, slot] : round) {
        const int64_t first = off[e], n = off[e + 1] - off[e];
        if (n == 0) continue;  // every assignment dropped by capacity
        weight_gemm(n, expert_matrix(blocks.gate_up, slot), ws.xs + first * hidden, hidden, ws.gu + first * 2 * I,
                    OutType::bf16, 2 * I);
        launch_swiglu(ws.gu + first * 2 * I, n, I, ws.act + first * I, stream_);
        weight_gemm(n, expert_matrix(blocks.down, slot), ws.act + first * I, I, ws.ys + first * hidden, OutType::bf16,
                    hidden);
      }
      offload_->end_round(stream_);
    }
    return;
  }

  // GEMV: each round's assignments read their expert's slot; the others are masked out of the
  // combine (their activations are computed from some slot and ignored).
  const size_t round_bytes = static_cast<size_t>(A) * (sizeof(int32_t) + 1);
  const size_t stride = (static_cast<size_t>(kMaxDecodeTokens) * static_cast<size_t>(k) * 5 + 255) / 256 * 256;
  int index = 0;
  for (auto round = offload_->next_round(offload_->slots(), stream_); !round.empty();
       round = offload_->next_round(offload_->slots(), stream_), ++index) {
    char* host = offload_rounds_host_.as<char>() + static_cast<size_t>(index) * stride;
    char* dev = offload_rounds_.as<char>() + static_cast<size_t>(index) * stride;
    auto* slot_ids = reinterpret_cast<int32_t*>(host);
    auto* mask = reinterpret_cast<uint8_t*>(host + id_bytes);
    for (int a = 0; a < A; ++a) {
      const auto it = std::find_if(round.begin(), round.end(), [&](const auto& r) { return r.first == ids[a]; });
      slot_ids[a] = it == round.end() ? round.front().second : it->second;
      mask[a] = it == round.end() || (capped && dropped[a]);
    }
    CUDA_CHECK(cudaMemcpyAsync(dev, host, round_bytes, cudaMemcpyHostToDevice, stream_));
    const auto* d_slots = reinterpret_cast<const int32_t*>(dev);
    const auto* d_mask = reinterpret_cast<const uint8_t*>(dev + id_bytes);
    weight_swiglu_gemv(blocks.gate_up, d_slots, T, k, ws.xb, hidden, I, hidden, ws.act);
    weight_down_combine_gemv(blocks.down, d_slots, slots.weights, d_mask, T, k, ws.act, I, hidden, ws.h);
    offload_->end_round(stream_);
  }
  // This layer's own copies are queued (by next_round); the prediction's go after them on the copy
  // stream, overlapping this layer's expert kernels and the next layer's attention.
  if (prefetch) offload_->prefetch(next, predicted_experts(next, T));
}

std::vector<int32_t> CudaEngine::predicted_experts(int next_moe_index, int T) {
  const ModelConfig& c = config_;
  const int E = static_cast<int>(c.n_routed_experts), k = static_cast<int>(c.top_k);
  const DeviceLayer& N = model_.layers[static_cast<size_t>(moe_layers_[static_cast<size_t>(next_moe_index)])];
  // noaux_tc routers (DeepSeek-V3) pick by sigmoid score plus a per-expert bias: the bias comes to
  // the host once per layer.
  if (prefetch_bias_.empty()) prefetch_bias_.resize(moe_layers_.size());
  std::vector<float>& bias = prefetch_bias_[static_cast<size_t>(next_moe_index)];
  if (N.router_bias && bias.empty()) {
    bias.resize(static_cast<size_t>(E));
    CUDA_CHECK(cudaMemcpy(bias.data(), N.router_bias, bias.size() * sizeof(float), cudaMemcpyDeviceToHost));
  }
  const float* logits = prefetch_logits_host_.as<float>();
  std::vector<float> key(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E)), experts;
  for (int t = 0; t < T; ++t) {
    // Softmax and sigmoid keep the logits' order; only the bias needs the sigmoid score itself.
    for (int e = 0; e < E; ++e) {
      const float l = logits[static_cast<size_t>(t) * E + e];
      key[static_cast<size_t>(e)] = bias.empty() ? l : 1.0f / (1.0f + std::exp(-l)) + bias[static_cast<size_t>(e)];
    }
    for (int e = 0; e < E; ++e) order[static_cast<size_t>(e)] = e;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) { return key[static_cast<size_t>(a)] > key[static_cast<size_t>(b)]; });
    for (int r = 0; r < k; ++r)
      if (std::find(experts.begin(), experts.end(), order[static_cast<size_t>(r)]) == experts.end())
        experts.push_back(order[static_cast<size_t>(r)]);
  }
  return experts;
}

}  // namespace moescope::gpu
