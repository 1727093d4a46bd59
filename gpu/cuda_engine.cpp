// The CUDA engine's setup (device checks, memory budget, weight upload, caches) and the step
// orchestration around step_forward.cpp: inputs in, decode graph, outputs and observer events out.
#include "gpu/cuda_engine.h"

#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cstring>

#include "core/analysis/capacity.h"
#include "core/cpu/ops.h"
#include "core/error.h"
#include "core/model.h"
#include "gpu/cuda_check.h"
#include "gpu/cuda_engine_impl.h"
#include "gpu/expert_offload.h"
#include "gpu/memory_budget.h"

namespace moescope {
namespace gpu {
namespace {

// The device count, or ResourceError "no CUDA GPU: ..." (e.g. "CUDA driver version is insufficient").
void require_device(int device) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("no CUDA GPU: ") + cudaGetErrorString(status));
  }
  if (count == 0) throw ResourceError("no CUDA GPU: no CUDA device found");
  if (device < 0 || device >= count)
    fail_input("CUDA device " + std::to_string(device) + " does not exist (this machine has " + std::to_string(count) +
               ")");
  CUDA_CHECK(cudaSetDevice(device));
}

// The GEMV kernels read rows with 16-byte loads.
void require_multiple_of_8(int64_t value, const char* what) {
  if (value % 8 != 0)
    fail_input(std::string("CUDA engine: ") + what + " = " + std::to_string(value) +
               " is not a multiple of 8, which its vectorised kernels need");
}

// The fp8 GEMV kernels read rows 16 values at a time.
void require_multiple_of_16(int64_t value, const char* what) {
  if (value % 16 != 0)
    fail_input(std::string("CUDA engine: --weights fp8 needs ") + what + " = " + std::to_string(value) +
               " to be a multiple of 16 (the width of its fp8 kernels' loads)");
}

void validate_fp8(const ModelConfig& c) {
  require_multiple_of_16(c.hidden_size, "hidden_size");
  require_multiple_of_16(c.num_heads * c.value_head_dim(), "num_heads x v_head_dim");
  if (c.intermediate_size > 0) require_multiple_of_16(c.intermediate_size, "intermediate_size");
  if (c.n_routed_experts > 0) require_multiple_of_16(c.moe_intermediate_size, "moe_intermediate_size");
  if (c.use_mla && c.q_lora_rank > 0) require_multiple_of_16(c.q_lora_rank, "q_lora_rank");
}

void validate(const ModelConfig& c) {
  require_multiple_of_8(c.hidden_size, "hidden_size");
  require_multiple_of_8(c.num_heads * c.value_head_dim(), "num_heads x v_head_dim");
  if (c.intermediate_size > 0) require_multiple_of_8(c.intermediate_size, "intermediate_size");
  if (c.n_routed_experts > 0) require_multiple_of_8(c.moe_intermediate_size, "moe_intermediate_size");
  if (c.use_mla && c.q_lora_rank > 0) require_multiple_of_8(c.q_lora_rank, "q_lora_rank");
  if (c.top_k > 64) fail_input("CUDA engine: num_experts_per_tok above 64 is not supported");
  if (c.n_group > 64) fail_input("CUDA engine: n_group above 64 is not supported");
  if (c.n_group > 0 && c.n_routed_experts % c.n_group != 0)
    fail_input("CUDA engine: n_routed_experts is not a multiple of n_group");
}

}  // namespace

CudaEngine::CudaEngine(const ModelConfig& config, const Model* model, uint64_t synthetic_seed,
                       const EngineOptions& options, const LoadProgress& progress)
    : config_(config), options_(options) {
  const ModelConfig& c = config_;
  validate(c);
  if (options.fp8_weights) validate_fp8(c);
  ep_ = make_ep_emulation(c, options);
  // A model over the user's memory cap is refused before the GPU is touched (the same error on a
  // machine without one); then against the device's free memory, lowered by the cap.
  const DeviceMemoryBudget budget = plan_device_memory(c, options);
  // --offload-experts: a model over the memory keeps its routed experts in host memory instead;
  // only the rest must fit (with one cached expert per MoE layer), checked the same way.
  const bool may_offload = options.offload_experts && c.n_routed_experts > 0;
  const auto offloads = [&](int64_t available) {
    return may_offload && (budget.total() > available || options.expert_cache_slots > 0);
  };
  const int64_t cap = options.memory_cap_bytes;
  if (cap > 0 && offloads(cap)) {
    plan_expert_offload(c, options, budget, cap, true);
  } else if (cap > 0) {
    require_fits(budget, cap, true, "CUDA device " + std::to_string(options.device));
  }
  const auto policy = parse_cache_policy(options.offload_policy);
  if (may_offload && (!policy || *policy == CachePolicy::belady))
    fail_input("--offload-policy " + options.offload_policy +
               ": expected lru or lfu (belady needs the future; `moescope offload` replays it)");
  require_device(options.device);
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
  info_ = {"cuda", prop.name, ""};

  const int64_t context = budget.context;
  kv_.context = context;
  decode_chunk_ = budget.decode_chunk;
  splits_ = budget.splits;
  for (int32_t l = 0; l < c.num_layers; ++l)
    if (c.is_moe_layer(l)) moe_layers_.push_back(l);

  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  int64_t available = static_cast<int64_t>(free_bytes);
  if (options.memory_cap_bytes > 0) available = std::min(available, options.memory_cap_bytes);
  std::optional<OffloadBudget> offload;
  if (offloads(available)) {
    offload = plan_expert_offload(c, options, budget, available, cap > 0);
  } else {
    require_fits(budget, available, options.memory_cap_bytes > 0, info_.device);
  }

  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&blas_));
  CUBLAS_CHECK(cublasSetStream(blas_, stream_));

  model_ = model ? upload_model(*model, stream_, progress, options.fp8_weights, offload.has_value())
                 : make_synthetic_model(c, synthetic_seed, stream_, options.fp8_weights, offload.has_value());
  if (options.fp8_weights) fp8_tile_ = DeviceBuffer(static_cast<size_t>(kFp8TileElements) * sizeof(bf16));
  if (options.fp8_weights) info_.weights = "fp8 e4m3 with 128x128 block scales";
  if (offload) {
    offload_ = std::make_unique<ExpertOffload>(c, model_, moe_layers_, offload->slots, *policy);
    const size_t assignments = static_cast<size_t>(kMaxDecodeTokens * c.top_k);
    const size_t stride = (assignments * 5 + 255) / 256 * 256;  // slot ids and masks of one round
    offload_rounds_host_ = PinnedBuffer(assignments * stride);
    offload_rounds_ = DeviceBuffer(assignments * stride);
    if (options.offload_prefetch) {
      const size_t logits = static_cast<size_t>(kMaxDecodeTokens) * static_cast<size_t>(c.n_routed_experts) * sizeof(float);
      prefetch_logits_ = DeviceBuffer(logits);
      prefetch_logits_host_ = PinnedBuffer(logits);
    }
    info_.expert_cache_slots = offload->slots;
    info_.weights += std::string(info_.weights.empty() ? "" : "; ") + "experts offloaded to host memory: " +
                     std::to_string(offload->slots) + " of " + std::to_string(c.n_routed_experts) +
                     " cached per MoE layer (" + options.offload_policy + ", " + size_text(offload->cache_bytes) +
                     " of cache, " + size_text(offload->host_bytes) + " pinned" +
                     (options.offload_prefetch ? ", next-layer prefetch)" : ")");
  }

  kv_.arena = DeviceBuffer(static_cast<size_t>(budget.kv_bytes));
  char* kv_base = kv_.arena.as<char>();
  const int64_t layer_bytes = budget.kv_layer_bytes;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    char* layer_base = kv_base + l * layer_bytes;
    if (c.use_mla) {
      kv_.latent.push_back(reinterpret_cast<bf16*>(layer_base));
    } else {
      kv_.k.push_back(reinterpret_cast<bf16*>(layer_base));
      kv_.v.push_back(reinterpret_cast<bf16*>(layer_base + layer_bytes / 2));
    }
  }

  const cpu::RopeTable table = cpu::make_rope_table(c, c.use_mla ? c.qk_rope_head_dim : c.head_dim);
  rope_freq_ = DeviceBuffer(table.inv_freq.size() * sizeof(float));
  CUDA_CHECK(cudaMemcpy(rope_freq_.data(), table.inv_freq.data(), table.inv_freq.size() * sizeof(float),
                        cudaMemcpyHostToDevice));
  rope_.inv_freq = rope_freq_.as<float>();
  rope_.rot_dim = static_cast<int>(c.use_mla ? c.qk_rope_head_dim : c.head_dim);
  rope_.attention_factor = table.attention_factor;

  pos_ = DeviceBuffer(sizeof(int32_t));
  route_blocks_done_ = DeviceBuffer(sizeof(uint32_t));
  CUDA_CHECK(cudaMemset(route_blocks_done_.data(), 0, sizeof(uint32_t)));
  pos_host_ = PinnedBuffer(sizeof(int32_t));
  offsets_host_ = PinnedBuffer(static_cast<size_t>(c.n_routed_experts + 1) * sizeof(int32_t));
  if (options.grouped_prefill && !moe_layers_.empty()) {
    // Two pointer tables (gate/up, down) per MoE layer, each A, B and C for every expert.
    const size_t bytes = moe_layers_.size() * 2 * kGroupedTablePointers *
                         static_cast<size_t>(c.n_routed_experts) * sizeof(void*);
    grouped_ptrs_host_ = PinnedBuffer(bytes);
    grouped_ptrs_ = DeviceBuffer(bytes);
  }
  if (ep_) upload_ep_placement();
  decode_ws_ = make_workspace(c, budget.decode_workspace);
  ensure_routing_host(decode_host_, kMaxDecodeTokens, options.device_capture);
  // Clock stamps of one decode step: at most two per phase mark (layers x at most 8 phases).
  if (options.device_capture) graph_rec_.reserve_clock(static_cast<int32_t>(2 * (c.num_layers * 8 + 4) + 1));
  reset();
}

CudaEngine::~CudaEngine() {
  if (graph_) cudaGraphExecDestroy(graph_);
  if (blas_) cublasDestroy(blas_);
  if (stream_) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

void CudaEngine::reset() {
  position_ = 0;
  step_ = 0;
}

// The placement as the exchange kernels read it: each expert's copies, CSR style.
void CudaEngine::upload_ep_placement() {
  std::vector<int32_t> offsets{0}, ranks;
  for (const auto& holders : ep_->placement.ranks_of_expert) {
    ranks.insert(ranks.end(), holders.begin(), holders.end());
    offsets.push_back(static_cast<int32_t>(ranks.size()));
  }
  ep_copy_offsets_ = DeviceBuffer(offsets.size() * sizeof(int32_t));
  ep_copy_ranks_ = DeviceBuffer(ranks.size() * sizeof(int32_t));
  CUDA_CHECK(cudaMemcpy(ep_copy_offsets_.data(), offsets.data(), ep_copy_offsets_.bytes(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(ep_copy_ranks_.data(), ranks.data(), ep_copy_ranks_.bytes(), cudaMemcpyHostToDevice));
}

Workspace& CudaEngine::prefill_workspace(int64_t T, int64_t Lk) {
  const ModelConfig& c = config_;
  const int64_t group = c.use_mla ? 1 : c.num_heads / c.num_kv_heads;
  // Heads per score chunk: GQA takes one kv head's group at a time; MHA as many heads as fit in
  // about 1 GiB of scores and probabilities.
  int64_t chunk = group;
  if (group == 1) chunk = std::clamp<int64_t>((int64_t{1} << 30) / std::max<int64_t>(T * Lk * 6, 1), 1, c.num_heads);
  const Workspace* current = prefill_ws_.get();
  if (current && current->shape.tokens >= T && current->shape.keys >= Lk && current->shape.head_chunk == chunk)
    return *prefill_ws_;
  WorkspaceShape shape{std::max<int64_t>(T, current ? current->shape.tokens : 0),
                       std::max<int64_t>(Lk, current ? current->shape.keys : 0), chunk, 0,
                       options_.ep_degree > 1 ? options_.ep_degree : 0};
  prefill_ws_.reset();  // free the old one first: the new one is larger
  prefill_ws_ = std::make_unique<Workspace>(make_workspace(c, shape));
  return *prefill_ws_;
}

void CudaEngine::ensure_routing_host(RoutingHost& host, int64_t tokens, bool on_device) {
  if (host.tokens >= tokens) return;
  const size_t rows = moe_layers_.size() * static_cast<size_t>(tokens);
  const size_t E = static_cast<size_t>(config_.n_routed_experts), k = static_cast<size_t>(config_.top_k);
  host.logits = PinnedBuffer(rows * E * sizeof(float));
  host.scores = PinnedBuffer(rows * E * sizeof(float));
  host.ids = PinnedBuffer(rows * k * sizeof(int32_t));
  host.weights = PinnedBuffer(rows * k * sizeof(float));
  host.dropped = PinnedBuffer(rows * k);
  if (on_device) {
    host.d_logits = DeviceBuffer(rows * E * sizeof(float));
    host.d_scores = DeviceBuffer(rows * E * sizeof(float));
    host.d_ids = DeviceBuffer(rows * k * sizeof(int32_t));
    host.d_weights = DeviceBuffer(rows * k * sizeof(float));
    host.d_dropped = DeviceBuffer(rows * k);
  }
  host.tokens = tokens;
}

void CudaEngine::forward(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail_input("forward: no tokens to run (an empty prompt?)");
  if (position_ + n > kv_.context)
    fail_input("context of " + std::to_string(position_ + n) + " tokens exceeds the engine's capacity of " +
               std::to_string(kv_.context) + " (max_position_embeddings " + std::to_string(c.max_position_embeddings) +
               ", --max-context)");
  for (int32_t id : tokens)
    if (id < 0 || id >= c.vocab_size)
      fail_input("token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(c.vocab_size) +
                 ")");

  StepPlan plan;
  plan.T = static_cast<int>(n);
  plan.p0 = position_;
  plan.gemv = n <= kMaxDecodeTokens;
  plan.all_logits = all_logits;
  plan.record = observer_ != nullptr && options_.instrumentation != InstrumentLevel::off;
  plan.full = plan.record && options_.instrumentation == InstrumentLevel::full;
  if (options_.enforce_capacity_factor > 0 && c.n_routed_experts > 0)
    plan.capacity = static_cast<int>(analysis::expert_capacity(options_.enforce_capacity_factor, n,
                                                               static_cast<int32_t>(c.top_k),
                                                               static_cast<int32_t>(c.n_routed_experts)));
  Workspace& ws = plan.gemv ? decode_ws_ : prefill_workspace(n, position_ + n);
  RoutingHost& host = plan.gemv ? decode_host_ : prefill_host_;
  if (!plan.gemv) ensure_routing_host(host, n);
  const int rows = all_logits ? plan.T : 1;
  const size_t logit_bytes = static_cast<size_t>(rows) * static_cast<size_t>(c.vocab_size) * sizeof(float);
  if (logits_host_.bytes() < logit_bytes) logits_host_ = PinnedBuffer(logit_bytes);
  if (tokens_host_.bytes() < tokens.size_bytes()) tokens_host_ = PinnedBuffer(tokens.size_bytes());

  const StepInfo step{step_, position_, plan.T};
  if (observer_) observer_->on_step_begin(step);

  std::memcpy(tokens_host_.data(), tokens.data(), tokens.size_bytes());
  *pos_host_.as<int32_t>() = static_cast<int32_t>(position_);
  CUDA_CHECK(cudaMemcpyAsync(ws.tokens, tokens_host_.data(), tokens.size_bytes(), cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaMemcpyAsync(pos_.data(), pos_host_.data(), sizeof(int32_t), cudaMemcpyHostToDevice, stream_));

  PhaseRecorder* rec = &rec_;
  // Offloaded experts are looked up on the host after each router: no graph.
  if (plan.gemv && plan.T == 1 && !offload_) {
    // One-token steps replay a captured graph: hundreds of small kernels without launch gaps.
    if (!graph_ || graph_record_ != plan.record || graph_full_ != plan.full) {
      if (graph_) CUDA_CHECK(cudaGraphExecDestroy(graph_));
      graph_ = nullptr;
      cudaGraph_t graph = nullptr;
      CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed));
      try {
        graph_rec_.start(stream_, plan.full, false, options_.device_capture);
        StepPlan capture = plan;
        capture.all_logits = false;
        run_step(capture, ws, host, graph_rec_);
        graph_rec_.finish();
      } catch (...) {
        cudaStreamEndCapture(stream_, &graph);
        if (graph) cudaGraphDestroy(graph);
        throw;
      }
      CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
      cudaError_t status = cudaGraphInstantiate(&graph_, graph, 0);
      cudaGraphDestroy(graph);
      CUDA_CHECK(status);
      graph_record_ = plan.record;
      graph_full_ = plan.full;
    }
    nvtxRangePushA("decode_step");
    CUDA_CHECK(cudaGraphLaunch(graph_, stream_));
    nvtxRangePop();
    rec = &graph_rec_;
  } else {
    if (offload_) offload_->begin_step(stream_);
    rec_.start(stream_, plan.full, true);
    run_step(plan, ws, host, rec_);
  }
  CUDA_CHECK(cudaMemcpyAsync(logits_host_.data(), ws.logits, logit_bytes, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));

  logits.assign(logits_host_.as<float>(), logits_host_.as<float>() + logit_bytes / sizeof(float));
  const std::vector<OffloadEvent> offload_events = offload_ ? offload_->take_step(step.step) : std::vector<OffloadEvent>{};
  position_ += n;
  ++step_;
  if (observer_) {
    for (const OffloadEvent& e : offload_events) observer_->on_offload(e);
    deliver(plan, step, host, *rec, logits);
  }
}

void CudaEngine::deliver(const StepPlan& plan, const StepInfo& step, const RoutingHost& host,
                         const PhaseRecorder& rec, std::span<const float> logits) {
  const ModelConfig& c = config_;
  if (plan.record) {
    const size_t T = static_cast<size_t>(plan.T), E = static_cast<size_t>(c.n_routed_experts);
    const size_t k = static_cast<size_t>(c.top_k);
    for (size_t m = 0; m < moe_layers_.size(); ++m) {
      const size_t row0 = m * static_cast<size_t>(host.tokens);
      RoutingEvent ev;
      ev.step = step.step;
      ev.layer = moe_layers_[m];
      ev.first_position = step.first_position;
      ev.n_tokens = plan.T;
      ev.n_experts = static_cast<int32_t>(E);
      ev.top_k = static_cast<int32_t>(k);
      if (plan.full) {
        ev.router_logits = {host.logits.as<float>() + row0 * E, T * E};
        ev.scores = {host.scores.as<float>() + row0 * E, T * E};
      }
      ev.topk_ids = {host.ids.as<int32_t>() + row0 * k, T * k};
      ev.topk_weights = {host.weights.as<float>() + row0 * k, T * k};
      if (plan.capacity > 0) ev.dropped = {host.dropped.as<uint8_t>() + row0 * k, T * k};
      observer_->on_routing(ev);
      // Counted and modelled as on the CPU engine, plus the time of the exchange run_step performed
      // between rank buffers (with full instrumentation, which times phases).
      if (ep_) {
        report_emulated_all_to_all(*ep_, step.step, moe_layers_[m], ev.topk_ids, plan.T, static_cast<int32_t>(k),
                                   c.hidden_size, rec.phase_us(moe_layers_[m], Phase::all_to_all), *observer_);
      }
    }
  }
  rec.report(step.step, *observer_);
  observer_->on_step_end(step, logits);
}

}  // namespace gpu

std::unique_ptr<Engine> make_cuda_engine(const Model& model, const EngineOptions& options,
                                         const CudaLoadProgress& progress) {
  return std::make_unique<gpu::CudaEngine>(model.config, &model, 0, options, progress);
}

std::unique_ptr<Engine> make_synthetic_cuda_engine(const ModelConfig& config, const EngineOptions& options,
                                                   uint64_t seed) {
  return std::make_unique<gpu::CudaEngine>(config, nullptr, seed, options, gpu::LoadProgress{});
}

int64_t cuda_weight_bytes(const ModelConfig& config, bool fp8) {
  return static_cast<int64_t>(gpu::device_weight_bytes(config, fp8));
}

int64_t cuda_expert_bytes(const ModelConfig& config, bool fp8) {
  return static_cast<int64_t>(gpu::device_expert_bytes(config, fp8));
}

std::string cuda_device_summary(int device) {
  gpu::require_device(device);
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(prop.multiProcessorCount) + " SMs, " + gpu::size_text(static_cast<int64_t>(free_bytes)) + " free)";
}

}  // namespace moescope
