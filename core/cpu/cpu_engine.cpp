// The CPU reference engine: float32 arithmetic over the stored weights, one layer after another,
// reading like the model's maths. It is what the CUDA engine is checked against.
#include <new>
#include <string>

#include "core/cpu/attention.h"
#include "core/cpu/feed_forward.h"
#include "core/engine.h"
#include "core/ep_emulation.h"
#include "core/error.h"
#include "core/model.h"

namespace moescope {

namespace {

class CpuEngine final : public Engine {
 public:
  CpuEngine(const Model& model, const EngineOptions& options)
      : model_(model), config_(model.config), options_(options), pool_(options.n_threads) {
    const ModelConfig& c = config_;
    capacity_ = std::min<int64_t>(options.max_context > 0 ? options.max_context : c.max_position_embeddings,
                                  c.max_position_embeddings);
    info_ = {"cpu", "CPU (" + std::to_string(pool_.size()) + " threads)", ""};
    rope_ = cpu::make_rope_table(c, c.use_mla ? c.qk_rope_head_dim : c.head_dim);
    final_norm_ = cpu::vector_f32(model.weights.final_norm);
    for (const auto& layer : model.weights.layers) {
      input_norms_.push_back(cpu::vector_f32(layer.input_norm));
      post_attn_norms_.push_back(cpu::vector_f32(layer.post_attn_norm));
    }
    ep_ = make_ep_emulation(c, options);
    reset();
  }

  const EngineInfo& info() const override { return info_; }
  const ModelConfig& config() const override { return config_; }
  int64_t position() const override { return position_; }
  void set_observer(ForwardObserver* observer) override { observer_ = observer; }

  void reset() override {
    const ModelConfig& c = config_;
    caches_.assign(static_cast<size_t>(c.num_layers), {});
    for (auto& cache : caches_) {
      cache.n_kv_heads = c.use_mla ? c.num_heads : c.num_kv_heads;
      cache.k_dim = c.qk_head_dim();
      cache.v_dim = c.value_head_dim();
    }
    position_ = 0;
    step_ = 0;
  }

  void forward(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) override {
    const ModelConfig& c = config_;
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n == 0) fail_input("forward: no tokens to run (an empty prompt?)");
    if (position_ + n > capacity_)
      fail_input("context of " + std::to_string(position_ + n) + " tokens exceeds the engine's capacity of " +
                 std::to_string(capacity_) + " (max_position_embeddings " + std::to_string(c.max_position_embeddings) +
                 ", --max-context)");
    for (int32_t id : tokens)
      if (id < 0 || id >= c.vocab_size)
        fail_input("token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    try {
      compute_step(tokens, all_logits, logits);
    } catch (const std::bad_alloc&) {
      throw ResourceError(out_of_memory_message(n, all_logits));
    }
  }

 private:
  // What a step of `n` tokens holds, for the line a failed allocation gets instead of bad_alloc.
  std::string out_of_memory_message(int64_t n, bool all_logits) const {
    const ModelConfig& c = config_;
    const uint64_t kv_bytes = static_cast<uint64_t>(position_ + n) * static_cast<uint64_t>(c.num_layers) *
                              static_cast<uint64_t>(c.use_mla ? c.num_heads : c.num_kv_heads) *
                              static_cast<uint64_t>(c.qk_head_dim() + c.value_head_dim()) * sizeof(float);
    const uint64_t step_bytes =
        static_cast<uint64_t>(n) * static_cast<uint64_t>(3 * c.hidden_size) * sizeof(float) +
        static_cast<uint64_t>(all_logits ? n : 1) * static_cast<uint64_t>(c.vocab_size) * sizeof(float);
    return "out of memory in the CPU engine's step of " + std::to_string(n) + " tokens at position " +
           std::to_string(position_) + ": its KV cache needs " + std::to_string(kv_bytes) +
           " bytes and the step's activations and logits about " + std::to_string(step_bytes) + " bytes more";
  }

  // The step itself, once its tokens are known good.
  void compute_step(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
    const ModelConfig& c = config_;
    const int64_t n = static_cast<int64_t>(tokens.size());
    const StepInfo step{step_, position_, static_cast<int32_t>(n)};
    const double step_start = cpu::now_us();
    // Phase start times are reported relative to the step's start.
    auto timing = [&](Phase phase, int32_t layer, double start_us, double duration_us) {
      if (observer_) observer_->on_timing({step.step, layer, phase, start_us - step_start, duration_us});
    };
    if (observer_) observer_->on_step_begin(step);

    const int64_t hidden = c.hidden_size;
    std::vector<float> h(static_cast<size_t>(n * hidden));  // (n, hidden) residual stream
    double t = cpu::now_us();
    for (int64_t i = 0; i < n; ++i) cpu::weight_row_f32(model_.weights.embed_tokens, tokens[i], &h[i * hidden]);
    timing(Phase::embed, -1, t, cpu::now_us() - t);

    std::vector<float> normed(h.size()), block_out(h.size());
    cpu::MoeRouting routing;
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const LayerWeights& w = model_.weights.layers[l];
      const int32_t layer = static_cast<int32_t>(l);
      caches_[l].reserve_positions(position_ + n);

      t = cpu::now_us();
      cpu::rms_norm(h.data(), n, hidden, input_norms_[l].data(), c.rms_norm_eps, normed.data());
      cpu::attention_forward(pool_, c, w.attention, rope_, normed.data(), n, position_, caches_[l], block_out.data());
      for (size_t i = 0; i < h.size(); ++i) h[i] += block_out[i];
      timing(Phase::attention, layer, t, cpu::now_us() - t);

      cpu::rms_norm(h.data(), n, hidden, post_attn_norms_[l].data(), c.rms_norm_eps, normed.data());
      if (c.is_moe_layer(l)) {
        const cpu::ForcedRouting forced{options_.routing_override, tokens, position_, layer};
        cpu::moe_forward(pool_, c, w, normed.data(), n, options_.enforce_capacity_factor, forced, routing, block_out.data(),
                         [&](Phase phase, double start, double duration) { timing(phase, layer, start, duration); });
        if (observer_) {
          RoutingEvent event;
          event.step = step_;
          event.layer = layer;
          event.first_position = position_;
          event.n_tokens = static_cast<int32_t>(n);
          event.n_experts = static_cast<int32_t>(c.n_routed_experts);
          event.top_k = static_cast<int32_t>(routing.k);
          event.router_logits = routing.router_logits;
          event.scores = routing.scores;
          event.topk_ids = routing.topk_ids;
          event.topk_weights = routing.topk_weights;
          event.dropped = routing.dropped;
          observer_->on_routing(event);
          // The CPU engine runs every expert itself and exchanges nothing: counted and modelled.
          if (ep_) {
            report_emulated_all_to_all(*ep_, step_, layer, routing.topk_ids, static_cast<int32_t>(n),
                                       static_cast<int32_t>(c.top_k), c.hidden_size, 0.0, *observer_);
          }
        }
      } else {
        t = cpu::now_us();
        cpu::swiglu_forward(pool_, w.dense, normed.data(), n, block_out.data());
        timing(Phase::dense_mlp, layer, t, cpu::now_us() - t);
      }
      for (size_t i = 0; i < h.size(); ++i) h[i] += block_out[i];
    }

    t = cpu::now_us();
    const int64_t first_row = all_logits ? 0 : n - 1;
    const int64_t rows = n - first_row;
    cpu::rms_norm(&h[first_row * hidden], rows, hidden, final_norm_.data(), c.rms_norm_eps, normed.data());
    logits.resize(static_cast<size_t>(rows * c.vocab_size));
    cpu::matmul(pool_, normed.data(), rows, model_.weights.lm_head, logits.data());
    timing(Phase::lm_head, -1, t, cpu::now_us() - t);

    position_ += n;
    ++step_;
    if (observer_) observer_->on_step_end(step, logits);
  }

  const Model& model_;
  const ModelConfig& config_;
  EngineOptions options_;
  ThreadPool pool_;
  EngineInfo info_;
  cpu::RopeTable rope_;
  std::vector<float> final_norm_;
  std::vector<std::vector<float>> input_norms_, post_attn_norms_;
  std::vector<cpu::KvCache> caches_;
  int64_t capacity_ = 0;
  int64_t position_ = 0;
  int64_t step_ = 0;
  ForwardObserver* observer_ = nullptr;
  std::optional<EpEmulation> ep_;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const Model& model, const EngineOptions& options) {
  return std::make_unique<CpuEngine>(model, options);
}

}  // namespace moescope
