// `moescope bench`: prefill and decode speed of the CUDA engine on a checkpoint folder or on
// synthetic weights of a real model's shapes generated on the GPU, with instrumentation off and
// full, and the fraction of the hardware floor (decode: weight bytes over measured copy bandwidth;
// prefill: FLOPs over measured bf16 GEMM rate). Only built with CUDA.
#ifdef MOESCOPE_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "app/engine_flags.h"
#include "app/verb_registry.h"
#include "core/error.h"
#include "core/model.h"
#include "core/model_fp8.h"
#include "gpu/cuda_engine.h"
#include "gpu/memory_budget.h"

namespace moescope {
namespace {

struct BenchArgs {
  std::string model_dir;
  std::string synthetic;
  int layers = 0;
  std::vector<int> prefill = {512, 2048};
  int decode_context = 128;
  int decode_steps = 32;
  int repeats = 5;
  int warmup = 2;
  bool fused_attention = false;
  bool fast_kernels = true;
  bool device_capture = true;
  std::string weights = "stored";
  OffloadFlags offload;
  int64_t gpu_memory_cap = 0;
  DecodeRound2Flags round2;
  PrefillFlags prefill_paths;
};

// config.json text of the public checkpoints (their shapes; weights are generated).
std::string synthetic_config_json(const std::string& name, int layers) {
  std::string json;
  if (name == "mixtral-8x7b") {
    json = R"({"model_type":"mixtral","vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,
      "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":32768,
      "rms_norm_eps":1e-5,"rope_theta":1000000.0,"num_local_experts":8,"num_experts_per_tok":2,
      "tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})";
  } else if (name == "deepseek-v2-lite") {
    json = R"({"model_type":"deepseek_v2","vocab_size":102400,"hidden_size":2048,"intermediate_size":10944,
      "moe_intermediate_size":1408,"num_hidden_layers":27,"num_attention_heads":16,"num_key_value_heads":16,
      "n_shared_experts":2,"n_routed_experts":64,"routed_scaling_factor":1.0,"kv_lora_rank":512,"q_lora_rank":null,
      "qk_rope_head_dim":64,"v_head_dim":128,"qk_nope_head_dim":128,"topk_method":"greedy","n_group":1,
      "topk_group":1,"num_experts_per_tok":6,"moe_layer_freq":1,"first_k_dense_replace":1,"norm_topk_prob":false,
      "scoring_func":"softmax","max_position_embeddings":163840,"rms_norm_eps":1e-6,"rope_theta":10000.0,
      "rope_scaling":{"type":"yarn","factor":40,"original_max_position_embeddings":4096,"beta_fast":32,
      "beta_slow":1,"mscale":0.707,"mscale_all_dim":0.707},"tie_word_embeddings":false,"bos_token_id":100000,
      "eos_token_id":100001})";
  } else if (name == "deepseek-v3") {
    json = R"({"model_type":"deepseek_v3","vocab_size":129280,"hidden_size":7168,"intermediate_size":18432,
      "moe_intermediate_size":2048,"num_hidden_layers":61,"num_attention_heads":128,"num_key_value_heads":128,
      "n_shared_experts":1,"n_routed_experts":256,"routed_scaling_factor":2.5,"kv_lora_rank":512,
      "q_lora_rank":1536,"qk_rope_head_dim":64,"v_head_dim":128,"qk_nope_head_dim":128,"topk_method":"noaux_tc",
      "n_group":8,"topk_group":4,"num_experts_per_tok":8,"moe_layer_freq":1,"first_k_dense_replace":3,
      "norm_topk_prob":true,"scoring_func":"sigmoid","max_position_embeddings":163840,"rms_norm_eps":1e-6,
      "rope_theta":10000.0,"rope_scaling":{"type":"yarn","factor":40,"original_max_position_embeddings":4096,
      "beta_fast":32,"beta_slow":1,"mscale":1.0,"mscale_all_dim":1.0},"tie_word_embeddings":false,
      "bos_token_id":0,"eos_token_id":1})";
  } else {
    fail_input("--synthetic \"" + name + "\": expected mixtral-8x7b, deepseek-v2-lite or deepseek-v3");
  }
  if (layers > 0) {
    const std::string key = "\"num_hidden_layers\":";
    const size_t at = json.find(key) + key.size();
    json.replace(at, json.find(',', at) - at, std::to_string(layers));
  }
  return json;
}

double now_ms() {
  using namespace std::chrono;
  return duration_cast<duration<double, std::milli>>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void check(cudaError_t s, const char* what) {
  if (s != cudaSuccess) throw ResourceError(std::string("bench: ") + what + ": " + cudaGetErrorString(s));
}

// Device-to-device copy bandwidth, counting bytes read plus bytes written (GB/s).
double measure_copy_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMemset(a, 1, bytes), "cudaMemset");
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<double> ms;
  for (int i = 0; i < 12; ++i) {
    cudaEventRecord(e0);
    check(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy");
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t = 0;
    cudaEventElapsedTime(&t, e0, e1);
    if (i >= 2) ms.push_back(t);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * static_cast<double>(bytes) / (median(ms) * 1e-3) / 1e9;
}

// bf16 GEMM rate of cuBLAS on 8192^3 random operands (TFLOP/s).
double measure_gemm_tflops() {
  const int n = 8192;
  const size_t count = static_cast<size_t>(n) * n;
  __nv_bfloat16 *a = nullptr, *b = nullptr, *c = nullptr;
  check(cudaMalloc(&a, count * 2), "cudaMalloc");
  check(cudaMalloc(&b, count * 2), "cudaMalloc");
  check(cudaMalloc(&c, count * 2), "cudaMalloc");
  std::vector<__nv_bfloat16> host(count);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& x : host) x = __float2bfloat16(u(rng));
  check(cudaMemcpy(a, host.data(), count * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(b, host.data(), count * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw ResourceError("bench: cublasCreate failed");
  const float alpha = 1, beta = 0;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    cudaEventRecord(e0);
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n, &beta, c,
                 CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t = 0;
    cudaEventElapsedTime(&t, e0, e1);
    if (i >= 3) ms.push_back(t);
  }
  cublasDestroy(h);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return 2.0 * n * static_cast<double>(n) * n / (median(ms) * 1e-3) / 1e12;
}

// Weights one decode token must read: everything but the experts it does not use (bytes, bf16, or
// with `fp8` the e4m3 values and their block scales where the engine keeps them so).
double decode_bytes(const ModelConfig& c, int64_t context, bool fp8 = false) {
  const double total = static_cast<double>(cuda_weight_bytes(c, fp8));
  const double expert = static_cast<double>(cuda_expert_bytes(c, fp8));
  const double moe_layers = static_cast<double>(c.moe_layers().size());
  const double unused = moe_layers * (c.n_routed_experts - c.top_k) * expert;
  const double embed =
      static_cast<double>(c.vocab_size) * c.hidden_size * 2 - c.hidden_size * 2;  // one row read
  const double per_position = static_cast<double>(gpu::kv_cache_bytes_per_position(c));
  return total - unused - embed + per_position * context * c.num_layers;
}

// FLOPs of a prefill of T tokens: 2 x active parameters x T, plus causal attention.
double prefill_flops(const ModelConfig& c, int64_t T) {
  const double active_bytes = decode_bytes(c, 0) - static_cast<double>(c.vocab_size) * c.hidden_size * 2;
  const double lm_head_last_token = 2.0 * c.vocab_size * c.hidden_size;
  const double attention = 2.0 * c.num_layers * c.num_heads * (c.qk_head_dim() + c.value_head_dim()) *
                           static_cast<double>(T) * (T + 1) / 2.0;
  return active_bytes / 2.0 * 2.0 * T + lm_head_last_token + attention;
}

// Host -> device copy bandwidth from pinned memory, the link offloaded experts cross (GB/s).
double measure_pinned_h2d_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  void *host = nullptr, *dev = nullptr;
  check(cudaMallocHost(&host, bytes), "cudaMallocHost");
  check(cudaMalloc(&dev, bytes), "cudaMalloc");
  std::memset(host, 1, bytes);
  std::vector<double> ms;
  for (int i = 0; i < 8; ++i) {
    const double t0 = now_ms();
    check(cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    if (i >= 2) ms.push_back(now_ms() - t0);
  }
  cudaFree(dev);
  cudaFreeHost(host);
  return static_cast<double>(bytes) / (median(ms) * 1e-3) / 1e9;
}

// Sums the expert cache's events of the decode steps it is told to count (steps >= first_step).
struct OffloadTotals : ForwardObserver {
  int64_t first_step = 1;
  int64_t last_step = -1;
  int64_t lookups = 0, hits = 0, prefetched = 0, prefetch_hits = 0, bytes = 0;
  double copy_us = 0, stall_us = 0;
  int64_t steps = 0;
  void on_offload(const OffloadEvent& e) override {
    if (e.step < first_step) return;
    if (e.step != last_step) ++steps, last_step = e.step;
    lookups += e.lookups;
    hits += e.hits;
    prefetched += e.prefetched;
    prefetch_hits += e.prefetch_hits;
    bytes += e.bytes_copied;
    copy_us += e.copy_us;
    stall_us += e.stall_us;
  }
};

// Touches what the observer hands over, as a recorder would.
struct SinkObserver : ForwardObserver {
  double checksum = 0;
  int64_t events = 0;
  void on_routing(const RoutingEvent& e) override {
    ++events;
    for (float w : e.topk_weights) checksum += w;
    if (!e.router_logits.empty()) checksum += e.router_logits.front();
  }
  void on_timing(const PhaseTiming& t) override {
    ++events;
    checksum += t.duration_us;
  }
};

struct Timing {
  double prefill_ms = 0;
  double decode_ms = 0;
};

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(2, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (auto& t : out) t = pick(rng);
  return out;
}

double time_prefill(Engine& engine, int T, const BenchArgs& args) {
  const auto tokens = random_tokens(T, engine.config().vocab_size, 11);
  std::vector<float> logits;
  std::vector<double> ms;
  for (int i = 0; i < args.warmup + args.repeats; ++i) {
    engine.reset();
    const double t0 = now_ms();
    engine.forward(tokens, false, logits);
    if (i >= args.warmup) ms.push_back(now_ms() - t0);
  }
  return median(ms);
}

double time_decode(Engine& engine, const BenchArgs& args) {
  const auto context = random_tokens(args.decode_context, engine.config().vocab_size, 12);
  const auto steps = random_tokens(args.decode_steps + args.warmup, engine.config().vocab_size, 13);
  std::vector<float> logits;
  engine.reset();
  engine.forward(context, false, logits);
  std::vector<double> ms;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double t0 = now_ms();
    engine.forward(std::span(steps).subspan(i, 1), false, logits);
    if (static_cast<int>(i) >= args.warmup) ms.push_back(now_ms() - t0);
  }
  return median(ms);
}

// Offloaded experts: the decode steps again, counting the cache's hits and copies, against the
// measured pinned host -> device bandwidth (the copies' floor).
void report_offload(Engine& engine, const BenchArgs& args, double decode_ms) {
  const double h2d = measure_pinned_h2d_bandwidth();
  OffloadTotals totals;
  totals.first_step = 1 + args.warmup;  // step 0 is the context's prefill
  engine.set_observer(&totals);
  const double ms = time_decode(engine, args);
  engine.set_observer(nullptr);
  if (totals.steps == 0 || totals.lookups == 0) {
    std::printf("offload: no expert lookups in the timed decode steps\n");
    return;
  }
  const double per_token_bytes = static_cast<double>(totals.bytes) / totals.steps;
  const double copy_ms = totals.copy_us / 1e3 / totals.steps, stall_ms = totals.stall_us / 1e3 / totals.steps;
  const double copy_gbs = totals.copy_us > 0 ? static_cast<double>(totals.bytes) / (totals.copy_us * 1e-6) / 1e9 : 0;
  std::printf("offload: %s\n", engine.info().weights.c_str());
  std::printf("offload decode: hit rate %.3f (%lld of %lld lookups over %lld steps), %.2f GB/token, %.2f tokens/s "
              "(%.1f ms/token; %.1f with full instrumentation)\n",
              static_cast<double>(totals.hits) / totals.lookups, static_cast<long long>(totals.hits),
              static_cast<long long>(totals.lookups), static_cast<long long>(totals.steps), per_token_bytes / 1e9,
              1e3 / ms, ms, decode_ms);
  std::printf("offload copies: %.1f GB/s = %.0f%% of pinned H2D %.1f GB/s; per token copy %.1f ms, stall %.1f ms, "
              "not copying %.0f%% of the step\n",
              copy_gbs, 100 * copy_gbs / h2d, h2d, copy_ms, stall_ms, 100 * std::max(0.0, ms - copy_ms) / ms);
  if (totals.prefetched > 0)
    std::printf("offload prefetch: %lld experts copied ahead, %lld of them used (%.3f), %.3f of all lookups\n",
                static_cast<long long>(totals.prefetched), static_cast<long long>(totals.prefetch_hits),
                static_cast<double>(totals.prefetch_hits) / totals.prefetched,
                static_cast<double>(totals.prefetch_hits) / totals.lookups);
}

void run_bench(const BenchArgs& args) {
  if (args.model_dir.empty() == args.synthetic.empty())
    fail_input("bench: give exactly one of --model <checkpoint folder> or --synthetic <name>");
  std::printf("device: %s\n", cuda_device_summary().c_str());
  const double bandwidth = measure_copy_bandwidth();
  const double tflops = measure_gemm_tflops();
  std::printf("measured: copy bandwidth %.0f GB/s (read+write), bf16 GEMM %.0f TFLOP/s (8192^3 cuBLAS)\n",
              bandwidth, tflops);

  EngineOptions options;
  options.backend = Backend::cuda;
  options.instrumentation = InstrumentLevel::full;
  options.fused_attention = args.fused_attention;
  options.fast_kernels = args.fast_kernels;
  options.device_capture = args.device_capture;
  const auto format = parse_weight_format(args.weights);
  if (!format) fail_input("--weights " + args.weights + ": expected stored or fp8");
  options.fp8_weights = *format == WeightFormat::fp8;
  options.memory_cap_bytes = args.gpu_memory_cap;
  apply_offload_flags(args.offload, options);
  apply_decode_round2_flags(args.round2, options);
  apply_prefill_flags(args.prefill_paths, options);
  const int max_prefill = *std::max_element(args.prefill.begin(), args.prefill.end());
  options.max_context = std::max(max_prefill, args.decode_context + args.decode_steps + args.warmup);
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
  std::string label;
  if (!args.model_dir.empty()) {
    model = load_model(args.model_dir);
    apply_weights_flag(args.weights, *model);
    const double t0 = now_ms();
    engine = make_cuda_engine(*model, options);
    const double load_ms = now_ms() - t0;
    const double bytes = static_cast<double>(cuda_weight_bytes(model->config, options.fp8_weights));
    std::printf("load: %.2f GB in %.0f ms = %.2f GB/s (page cache -> GPU)\n", bytes / 1e9, load_ms,
                bytes / (load_ms * 1e-3) / 1e9);
    label = args.model_dir;
  } else {
    const ModelConfig config =
        parse_model_config(synthetic_config_json(args.synthetic, args.layers), args.synthetic);
    engine = make_synthetic_cuda_engine(config, options);
    label = args.synthetic + " (" + std::to_string(config.num_layers) + " layers, synthetic)";
  }
  const ModelConfig& c = engine->config();
  std::printf("model: %s, weights %.2f GB on the GPU (%s)\n", label.c_str(),
              static_cast<double>(cuda_weight_bytes(c, options.fp8_weights)) / 1e9,
              options.fp8_weights ? "fp8 e4m3 with 128x128 f32 block scales; the decode floor counts both" : "bf16");
  auto on = [](bool b) { return b ? "on" : "off"; };
  std::printf(
      "options: fused-attention %s, fast-kernels %s, device-capture %s, fused-experts %s, context-splits %s, "
      "fused-routing %s, pdl %s, fast-merge %s, warp-topk %s, grouped-prefill %s, flash-prefill %s, "
      "fast-prefill-kernels %s\n",
      on(args.fused_attention), on(args.fast_kernels), on(args.device_capture), on(args.round2.fused_experts),
      on(args.round2.context_splits), on(args.round2.fused_routing), on(args.round2.programmatic_launch),
      on(args.round2.fast_merge), on(args.round2.warp_topk), on(args.prefill_paths.grouped),
      on(args.prefill_paths.flash), on(args.prefill_paths.fast_kernels));

  SinkObserver sink;
  std::printf("%-22s %12s %12s %10s %12s %10s\n", "case", "off ms", "full ms", "overhead", "tokens/s",
              "floor");
  for (int T : args.prefill) {
    engine->set_observer(nullptr);
    const double off = time_prefill(*engine, T, args);
    engine->set_observer(&sink);
    const double full = time_prefill(*engine, T, args);
    const double floor_ms = prefill_flops(c, T) / (tflops * 1e12) * 1e3;
    std::printf("prefill %-14d %12.2f %12.2f %9.1f%% %12.0f %9.0f%%  (floor %.2f ms)\n", T, off, full,
                (full / off - 1) * 100, T / (full * 1e-3), floor_ms / full * 100, floor_ms);
  }
  engine->set_observer(nullptr);
  const double off = time_decode(*engine, args);
  engine->set_observer(&sink);
  const double full = time_decode(*engine, args);
  engine->set_observer(nullptr);
  const double token_bytes = decode_bytes(c, args.decode_context, options.fp8_weights);
  const double floor_ms = token_bytes / (bandwidth * 1e9) * 1e3;
  std::printf("decode ctx %-11d %12.3f %12.3f %9.1f%% %12.1f %9.0f%%  (floor %.3f ms, %.2f GB/token)\n",
              args.decode_context, off, full, (full / off - 1) * 100, 1e3 / full, floor_ms / full * 100, floor_ms,
              token_bytes / 1e9);
  std::printf("observer events seen: %lld\n", static_cast<long long>(sink.events));
  if (options.offload_experts) report_offload(*engine, args, full);
}

void add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd =
      app.add_subcommand("bench", "CUDA engine speed: prefill and decode, instrumentation off vs full");
  cmd->add_option("--model", args->model_dir, "Checkpoint folder");
  cmd->add_option("--synthetic", args->synthetic,
                  "mixtral-8x7b, deepseek-v2-lite or deepseek-v3 (random weights)");
  cmd->add_option("--layers", args->layers, "Layer count of the synthetic model (default: the real one)");
  cmd->add_option("--prefill", args->prefill, "Prefill lengths")->delimiter(',')->capture_default_str();
  cmd->add_option("--decode-context", args->decode_context, "Context before decode steps")
      ->capture_default_str();
  cmd->add_option("--decode-steps", args->decode_steps, "Timed decode steps")->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "Timed prefill repeats (median)")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Untimed warm-up runs")->capture_default_str();
  add_fused_attention_flag(*cmd, args->fused_attention);
  add_fast_kernels_flag(*cmd, args->fast_kernels);
  add_device_capture_flag(*cmd, args->device_capture);
  add_weights_flag(*cmd, args->weights);
  add_gpu_memory_cap_flag(*cmd, args->gpu_memory_cap);
  add_offload_flags(*cmd, args->offload);
  add_decode_round2_flags(*cmd, args->round2);
  add_prefill_flags(*cmd, args->prefill_paths);
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(bench, add_bench);

}  // namespace moescope

#endif  // MOESCOPE_HAVE_CUDA
