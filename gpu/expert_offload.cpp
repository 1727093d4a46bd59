#include "gpu/expert_offload.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "gpu/cuda_check.h"

namespace moescope::gpu {

PinnedBuffer pin_expert_memory(size_t bytes) {
  try {
    return PinnedBuffer(bytes);
  } catch (const ResourceError& e) {
    throw ResourceError("expert offloading: cannot pin " + size_text(static_cast<int64_t>(bytes)) +
                        " of host memory for the routed experts: " + e.what());
  }
}

OffloadBudget plan_expert_offload(const ModelConfig& c, const EngineOptions& options, const DeviceMemoryBudget& budget,
                                  int64_t available, bool under_cap) {
  OffloadBudget b;
  const int64_t n_moe = static_cast<int64_t>(c.moe_layers().size());
  b.expert_bytes = static_cast<int64_t>(device_expert_bytes(c, options.fp8_weights));
  b.host_bytes = n_moe * c.n_routed_experts * b.expert_bytes;
  b.resident_bytes = budget.total() - b.host_bytes;
  const int64_t one_slot = n_moe * b.expert_bytes;
  if (n_moe == 0 || b.resident_bytes + one_slot > available)
    throw ResourceError("expert offloading: the model's non-expert part needs " + size_text(b.resident_bytes) +
                        " (weights without the routed experts " + size_text(budget.weight_bytes - b.host_bytes) +
                        ", KV cache " + size_text(budget.kv_bytes) + ", workspace " +
                        size_text(budget.workspace_bytes) + ") plus one expert slot per MoE layer (" +
                        std::to_string(n_moe) + " x " + size_text(b.expert_bytes) + "), but " +
                        size_text(available) + " are free" + (under_cap ? " under the memory cap" : ""));
  int64_t slots = std::min<int64_t>((available - b.resident_bytes) / one_slot, c.n_routed_experts);
  if (options.expert_cache_slots > 0) slots = std::min<int64_t>(slots, options.expert_cache_slots);
  b.slots = static_cast<int32_t>(slots);
  b.cache_bytes = slots * one_slot;
  return b;
}

ExpertOffload::ExpertOffload(const ModelConfig& config, const DeviceModel& model, std::vector<int32_t> moe_layers,
                             int32_t slots, CachePolicy policy)
    : config_(config), model_(model), moe_layers_(std::move(moe_layers)), slots_(slots) {
  const int64_t I = config.moe_intermediate_size, hidden = config.hidden_size;
  const DeviceLayer& first = model.layers.at(static_cast<size_t>(moe_layers_.at(0)));
  // One expert's bytes in the block layout (values and, for fp8, scales): the host block's stride.
  gate_up_bytes_ = first.experts_gate_up_fp8 ? first.experts_gate_up_fp8.expert_stride : 2 * I * hidden * 2;
  down_bytes_ = first.experts_down_fp8 ? first.experts_down_fp8.expert_stride : hidden * I * 2;
  const size_t per_layer = static_cast<size_t>(slots) * static_cast<size_t>(gate_up_bytes_ + down_bytes_);
  arena_ = DeviceBuffer(per_layer * moe_layers_.size());
  CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaEventCreate(&step_start_));
  for (size_t m = 0; m < moe_layers_.size(); ++m) {
    Layer& L = layers_.emplace_back(ExpertCache(policy, slots, static_cast<int32_t>(config.n_routed_experts)));
    L.slot_of.assign(static_cast<size_t>(config.n_routed_experts), -1);
    for (int32_t s = slots - 1; s >= 0; --s) L.free_slots.push_back(s);
    L.slot_done.resize(static_cast<size_t>(slots));
    for (cudaEvent_t& e : L.slot_done) CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    L.prefetched_expert.assign(static_cast<size_t>(config.n_routed_experts), 0);
    CUDA_CHECK(cudaEventCreateWithFlags(&L.prefetch_end, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreate(&L.copy_start));
    CUDA_CHECK(cudaEventCreate(&L.copy_end));
    CUDA_CHECK(cudaEventCreate(&L.ready));
    L.gate_up = arena_.as<char>() + m * per_layer;
    L.down = L.gate_up + static_cast<size_t>(slots) * static_cast<size_t>(gate_up_bytes_);
  }
}

ExpertOffload::~ExpertOffload() {
  if (copy_stream_) {
    cudaStreamSynchronize(copy_stream_);
    cudaStreamDestroy(copy_stream_);
  }
  if (step_start_) cudaEventDestroy(step_start_);
  for (Layer& L : layers_) {
    for (cudaEvent_t e : L.slot_done) cudaEventDestroy(e);
    cudaEventDestroy(L.copy_start);
    cudaEventDestroy(L.copy_end);
    cudaEventDestroy(L.ready);
    cudaEventDestroy(L.prefetch_end);
  }
}

ExpertBlocks ExpertOffload::blocks(int moe_index) const {
  const Layer& L = layers_.at(static_cast<size_t>(moe_index));
  const DeviceLayer& d = model_.layers.at(static_cast<size_t>(moe_layers_[static_cast<size_t>(moe_index)]));
  const int64_t I = config_.moe_intermediate_size, hidden = config_.hidden_size;
  ExpertBlocks b;
  b.gate_up = {reinterpret_cast<const bf16*>(L.gate_up), 2 * I, hidden, {}};
  b.down = {reinterpret_cast<const bf16*>(L.down), hidden, I, {}};
  // fp8: the slots hold the host layout, so the scales sit as far after the values as there.
  auto as_fp8 = [](DeviceMatrix& m, const Fp8View& host, const char* slots) {
    if (!host) return;
    m.data = nullptr;
    m.fp8 = host;
    m.fp8.values = reinterpret_cast<const uint8_t*>(slots);
    m.fp8.scales = reinterpret_cast<const float*>(slots + (reinterpret_cast<const char*>(host.scales) -
                                                          reinterpret_cast<const char*>(host.values)));
  };
  as_fp8(b.gate_up, d.experts_gate_up_fp8, L.gate_up);
  as_fp8(b.down, d.experts_down_fp8, L.down);
  return b;
}

void ExpertOffload::begin_step(cudaStream_t compute) {
  CUDA_CHECK(cudaEventRecord(step_start_, compute));
  step_started_ = true;
}

void ExpertOffload::begin_layer(int moe_index, std::span<const int32_t> experts) {
  current_ = moe_index;
  Layer& L = layers_.at(static_cast<size_t>(moe_index));
  pending_.assign(experts.begin(), experts.end());
  for (int32_t e : experts) {
    ++L.lookups;
    const bool hit = L.cache.lookup(e);
    L.hits += hit;
    L.prefetch_hits += hit && L.prefetched_expert[static_cast<size_t>(e)];
  }
  // A prediction not used this step is an ordinary cached expert from now on.
  std::fill(L.prefetched_expert.begin(), L.prefetched_expert.end(), 0);
}

bool ExpertOffload::copy_in(Layer& L, int moe_index, int32_t e, std::span<const int32_t> keep) {
  int32_t slot = -1;
  const int32_t victim = L.cache.victim(keep);
  if (victim >= 0) {
    L.cache.evict(victim);
    slot = L.slot_of[static_cast<size_t>(victim)];
    L.slot_of[static_cast<size_t>(victim)] = -1;
    L.prefetched_expert[static_cast<size_t>(victim)] = 0;
  } else if (!L.free_slots.empty()) {
    slot = L.free_slots.back();
    L.free_slots.pop_back();
  } else {
    return false;
  }
  // The host blocks: expert e's bytes start e strides in.
  const DeviceLayer& d = model_.layers[static_cast<size_t>(moe_layers_[static_cast<size_t>(moe_index)])];
  const char* host_gu = d.experts_gate_up_fp8 ? reinterpret_cast<const char*>(d.experts_gate_up_fp8.values)
                                              : reinterpret_cast<const char*>(d.experts_gate_up);
  const char* host_down = d.experts_down_fp8 ? reinterpret_cast<const char*>(d.experts_down_fp8.values)
                                             : reinterpret_cast<const char*>(d.experts_down);
  L.cache.insert(e);
  L.slot_of[static_cast<size_t>(e)] = slot;
  // The slot's previous kernels must be done before it is overwritten.
  CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, L.slot_done[static_cast<size_t>(slot)], 0));
  if (!L.copied) CUDA_CHECK(cudaEventRecord(L.copy_start, copy_stream_));
  L.copied = true;
  CUDA_CHECK(cudaMemcpyAsync(L.gate_up + slot * gate_up_bytes_, host_gu + e * gate_up_bytes_,
                             static_cast<size_t>(gate_up_bytes_), cudaMemcpyHostToDevice, copy_stream_));
  CUDA_CHECK(cudaMemcpyAsync(L.down + slot * down_bytes_, host_down + e * down_bytes_, static_cast<size_t>(down_bytes_),
                             cudaMemcpyHostToDevice, copy_stream_));
  L.bytes += gate_up_bytes_ + down_bytes_;
  return true;
}

void ExpertOffload::prefetch(int moe_index, std::span<const int32_t> experts) {
  Layer& L = layers_.at(static_cast<size_t>(moe_index));
  std::vector<int32_t> keep;  // the predictions already resident: no prefetch evicts another
  for (int32_t e : experts)
    if (L.cache.contains(e)) keep.push_back(e);
  bool copies = false;
  for (int32_t e : experts) {
    if (static_cast<int32_t>(keep.size()) >= slots_) break;
    if (L.cache.contains(e)) continue;
    if (!copy_in(L, moe_index, e, keep)) break;
    keep.push_back(e);
    L.prefetched_expert[static_cast<size_t>(e)] = 1;
    ++L.prefetched;
    copies = true;
  }
  if (!copies) return;
  CUDA_CHECK(cudaEventRecord(L.copy_end, copy_stream_));
  CUDA_CHECK(cudaEventRecord(L.prefetch_end, copy_stream_));
  L.prefetch_pending = true;
}

std::vector<std::pair<int32_t, int32_t>> ExpertOffload::next_round(int max_experts, cudaStream_t compute) {
  Layer& L = layers_.at(static_cast<size_t>(current_));
  round_.clear();
  std::vector<int32_t> in_round;
  const auto take = [&](int32_t e) {
    round_.emplace_back(e, L.slot_of[static_cast<size_t>(e)]);
    in_round.push_back(e);
  };
  const int limit = std::min(max_experts, slots_);
  // Cached experts first: a copy may then evict only experts this step has finished with.
  for (int32_t e : pending_)
    if (static_cast<int>(round_.size()) < limit && L.cache.contains(e)) take(e);
  bool copies = false;
  for (int32_t e : pending_) {
    if (static_cast<int>(round_.size()) >= limit) break;
    if (std::find(in_round.begin(), in_round.end(), e) != in_round.end()) continue;
    // A free slot or a victim outside the round always exists: the round holds at most `slots`.
    copy_in(L, current_, e, in_round);
    copies = true;
    take(e);
  }
  if (copies) CUDA_CHECK(cudaEventRecord(L.copy_end, copy_stream_));
  // The prefetch's copies (which the round may read) or the round's own: the kernels wait for them.
  if (copies || L.prefetch_pending) {
    if (!L.waited) CUDA_CHECK(cudaEventRecord(L.ready, compute));
    L.waited = true;
    CUDA_CHECK(cudaStreamWaitEvent(compute, copies ? L.copy_end : L.prefetch_end, 0));
    L.prefetch_pending = false;
  }
  std::erase_if(pending_, [&](int32_t e) { return std::find(in_round.begin(), in_round.end(), e) != in_round.end(); });
  return round_;
}

void ExpertOffload::end_round(cudaStream_t compute) {
  Layer& L = layers_.at(static_cast<size_t>(current_));
  for (const auto& [expert, slot] : round_) CUDA_CHECK(cudaEventRecord(L.slot_done[static_cast<size_t>(slot)], compute));
  round_.clear();
}

std::vector<OffloadEvent> ExpertOffload::take_step(int64_t step) {
  std::vector<OffloadEvent> out;
  for (size_t m = 0; m < layers_.size(); ++m) {
    Layer& L = layers_[m];
    if (L.lookups == 0) continue;
    OffloadEvent e;
    e.step = step;
    e.layer = moe_layers_[m];
    e.lookups = L.lookups;
    e.hits = L.hits;
    e.prefetched = L.prefetched;
    e.prefetch_hits = L.prefetch_hits;
    e.bytes_copied = L.bytes;
    if (L.copied) {
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, L.copy_start, L.copy_end));
      e.copy_us = ms * 1e3;
      CUDA_CHECK(cudaEventElapsedTime(&ms, L.ready, L.copy_end));
      e.stall_us = std::max(0.0f, ms) * 1e3;
      if (step_started_) {
        CUDA_CHECK(cudaEventElapsedTime(&ms, step_start_, L.copy_start));
        e.copy_start_us = std::max(0.0f, ms) * 1e3;
        CUDA_CHECK(cudaEventElapsedTime(&ms, step_start_, L.ready));
        e.stall_start_us = std::max(0.0f, ms) * 1e3;
      }
    }
    out.push_back(e);
    L.lookups = L.hits = 0;
    L.prefetched = L.prefetch_hits = 0;
    L.bytes = 0;
    L.copied = L.waited = false;
  }
  step_started_ = false;
  return out;
}

}  // namespace moescope::gpu
