// Synthetic engine output for the sessions tests: a seeded routing trace (softmax scores, top-k,
// renormalised weights) fed through a ForwardObserver exactly as an engine would, plus what was
// sent, so tests compare the file against it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/expert_cache.h"
#include "core/observer.h"
#include "sessions/recorder.h"

namespace moescope::test {

struct SyntheticSpec {
  std::vector<int32_t> moe_layers = {1, 2, 4};
  int32_t n_experts = 8;
  int32_t top_k = 2;
  int32_t prompt_tokens = 12;
  int32_t decode_steps = 5;
  int32_t ep_ranks = 2;  // 0: no all-to-all events
  uint64_t seed = 1;
  // > 0: the run offloads its experts behind an LRU cache of this many slots per layer and reports
  // OffloadEvents as the CUDA engine does (lookups: the step's distinct experts of the layer).
  int32_t offload_slots = 0;
  int64_t expert_bytes = 3 << 20;  // one expert's copy
};

// One step of one layer, as sent.
struct SentRouting {
  int64_t step = 0;
  int32_t layer = 0;
  int64_t first_position = 0;
  int32_t n_tokens = 0;
  std::vector<float> logits;   // (n_tokens, n_experts)
  std::vector<float> scores;   // (n_tokens, n_experts)
  std::vector<int32_t> ids;    // (n_tokens, top_k)
  std::vector<float> weights;  // (n_tokens, top_k)
};

struct SentRun {
  SyntheticSpec spec;
  std::vector<SentRouting> routing;
  std::vector<sessions::TokenRecord> tokens;
  int64_t n_timings = 0;
  int64_t a2a_tokens_total = 0;
  std::vector<OffloadEvent> offload;   // as sent, in (step, layer) order
  std::vector<ExpertCache> caches;     // (n_moe_layers) the emulated expert caches
};

inline sessions::RunInfo synthetic_run_info(const SyntheticSpec& spec, int64_t model_id,
                                            const std::string& tag) {
  sessions::RunInfo info;
  info.model_id = model_id;
  info.prompt_text = "synthetic prompt " + tag;
  info.tag = tag;
  info.backend = "cpu";
  info.device = "synthetic";
  info.settings_json = R"({"max_new_tokens":5})";
  info.moe_layers = spec.moe_layers;
  info.n_experts = spec.n_experts;
  info.top_k = spec.top_k;
  return info;
}

inline sessions::ModelInfo synthetic_model() {
  sessions::ModelInfo model;
  model.path = "/synthetic/model";
  model.model_type = "mixtral";
  model.family = "mixtral";
  model.config_json = R"({"model_type":"mixtral"})";
  model.n_layers = 5;
  model.n_experts = 8;
  model.top_k = 2;
  return model;
}

inline SentRouting make_routing(const SyntheticSpec& spec, std::mt19937_64& rng, int64_t step, int32_t layer,
                                int64_t first_position, int32_t n_tokens) {
  SentRouting r{step, layer, first_position, n_tokens, {}, {}, {}, {}};
  const int32_t E = spec.n_experts;
  const int32_t k = spec.top_k;
  std::normal_distribution<float> normal(0.0f, 2.0f);
  r.logits.resize(static_cast<size_t>(n_tokens) * E);
  for (float& value : r.logits) value = normal(rng);
  r.scores.resize(r.logits.size());
  for (int32_t t = 0; t < n_tokens; ++t) {
    const float* row = r.logits.data() + static_cast<size_t>(t) * E;
    float* out = r.scores.data() + static_cast<size_t>(t) * E;
    float max = *std::max_element(row, row + E);
    float sum = 0;
    for (int32_t e = 0; e < E; ++e) sum += out[e] = std::exp(row[e] - max);
    for (int32_t e = 0; e < E; ++e) out[e] /= sum;
    std::vector<int32_t> order(static_cast<size_t>(E));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return out[a] > out[b]; });
    float top_sum = 0;
    for (int32_t i = 0; i < k; ++i) top_sum += out[order[i]];
    for (int32_t i = 0; i < k; ++i) {
      r.ids.push_back(order[i]);
      r.weights.push_back(out[order[i]] / top_sum);
    }
  }
  return r;
}

// One layer's expert cache in one step, as the CUDA engine's offload path counts it: each distinct
// expert of the step looked up once, in order of first use; misses copied in from `start_us`.
inline void send_offload(ForwardObserver& observer, SentRun& sent, int64_t step, int32_t layer,
                         const std::vector<int32_t>& ids, double start_us) {
  const SyntheticSpec& spec = sent.spec;
  if (sent.caches.empty()) {
    for (size_t m = 0; m < spec.moe_layers.size(); ++m)
      sent.caches.emplace_back(CachePolicy::lru, spec.offload_slots, spec.n_experts);
  }
  const size_t slot = static_cast<size_t>(
      std::find(spec.moe_layers.begin(), spec.moe_layers.end(), layer) - spec.moe_layers.begin());
  std::vector<int32_t> experts;
  for (int32_t id : ids)
    if (std::find(experts.begin(), experts.end(), id) == experts.end()) experts.push_back(id);
  OffloadEvent event;
  event.step = step;
  event.layer = layer;
  for (int32_t expert : experts) {
    ++event.lookups;
    event.hits += sent.caches[slot].access(expert).hit;
  }
  // As --offload-prefetch reports it: odd steps pretend one expert came in ahead and was used.
  if (step % 2 == 1 && event.hits > 0) event.prefetched = event.prefetch_hits = 1;
  const int32_t misses = event.lookups - event.hits;
  event.bytes_copied = (misses + event.prefetched) * spec.expert_bytes;
  if (misses > 0) {
    event.copy_start_us = start_us;
    event.copy_us = 0.125 * misses;  // exact in binary: the file must give the same doubles back
    event.stall_start_us = start_us + 0.5;
    event.stall_us = event.copy_us / 2;
  }
  observer.on_offload(event);
  sent.offload.push_back(event);
}

// Sends one routing step of every layer through `observer`, with timings and all-to-all.
inline void send_step(ForwardObserver& observer, SentRun& sent, std::mt19937_64& rng, int64_t step,
                      int64_t first_position, int32_t n_tokens) {
  const SyntheticSpec& spec = sent.spec;
  StepInfo info{step, first_position, n_tokens};
  observer.on_step_begin(info);
  double clock_us = 0;
  for (int32_t layer : spec.moe_layers) {
    SentRouting r = make_routing(spec, rng, step, layer, first_position, n_tokens);
    RoutingEvent event;
    event.step = step;
    event.layer = layer;
    event.first_position = first_position;
    event.n_tokens = n_tokens;
    event.n_experts = spec.n_experts;
    event.top_k = spec.top_k;
    event.router_logits = r.logits;
    event.scores = r.scores;
    event.topk_ids = r.ids;
    event.topk_weights = r.weights;
    observer.on_routing(event);
    if (spec.offload_slots > 0) send_offload(observer, sent, step, layer, r.ids, clock_us + 10.0);
    observer.on_timing(PhaseTiming{step, layer, Phase::attention, clock_us, 10.0});
    observer.on_timing(PhaseTiming{step, layer, Phase::experts, clock_us + 10.0, 5.0 + layer});
    sent.n_timings += 2;
    clock_us += 20.0;
    if (spec.ep_ranks > 0) {
      const int32_t R = spec.ep_ranks;
      std::vector<int64_t> tokens(static_cast<size_t>(R) * R, 0);
      std::vector<int64_t> bytes(tokens.size(), 0);
      // Token t lives on rank t % R; expert e on rank e * R / E (contiguous placement).
      for (int32_t t = 0; t < n_tokens; ++t) {
        for (int32_t i = 0; i < spec.top_k; ++i) {
          int32_t src = static_cast<int32_t>((first_position + t) % R);
          int32_t dst = r.ids[static_cast<size_t>(t) * spec.top_k + i] * R / spec.n_experts;
          tokens[static_cast<size_t>(src) * R + dst] += 1;
          bytes[static_cast<size_t>(src) * R + dst] += 64;
        }
      }
      for (int64_t value : tokens) sent.a2a_tokens_total += value;
      AllToAllEvent a2a{step, layer, R, tokens, bytes, 0.0, 3.5};
      observer.on_all_to_all(a2a);
    }
    sent.routing.push_back(std::move(r));
  }
  observer.on_timing(PhaseTiming{step, -1, Phase::lm_head, clock_us, 7.0});
  sent.n_timings += 1;
  observer.on_step_end(info, {});
}

// A whole run: prefill of the prompt, then single-token decode steps, then the tokens.
inline SentRun record_synthetic_run(sessions::SessionWriter& writer, int64_t model_id,
                                    const SyntheticSpec& spec, const std::string& tag = "code") {
  SentRun sent;
  sent.spec = spec;
  std::mt19937_64 rng(spec.seed);
  writer.begin_run(synthetic_run_info(spec, model_id, tag));
  send_step(writer.observer(), sent, rng, 0, 0, spec.prompt_tokens);
  for (int32_t d = 0; d < spec.decode_steps; ++d) {
    send_step(writer.observer(), sent, rng, 1 + d, spec.prompt_tokens + d, 1);
  }
  const int32_t total = spec.prompt_tokens + spec.decode_steps;
  for (int32_t p = 0; p < total; ++p) {
    sessions::TokenRecord token;
    token.position = p;
    token.token_id = 100 + p;
    // Every third piece carries a comma, quotes and a line break, the characters CSV must escape.
    token.display_text = p % 3 == 0 ? "▁tok,\"" : "t";
    token.display_text += std::to_string(p);
    if (p % 3 == 0) token.display_text += "\"\n";
    token.is_prompt = p < spec.prompt_tokens;
    if (p > 0) token.logprob = -0.25 * p;
    sent.tokens.push_back(token);
  }
  writer.add_tokens(sent.tokens);
  writer.end_run({});
  return sent;
}

}  // namespace moescope::test
