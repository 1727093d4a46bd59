#include "ui/synthetic_session.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <random>
#include <string_view>

#include "core/error.h"
#include "core/expert_cache.h"

namespace moescope::ui {
namespace {

constexpr std::array<std::string_view, 4> kTags = {"code", "poetry", "math", "prose"};

// A few words per tag; the token view shows them, CJK included so the glyph ranges get exercised.
std::string_view word_for(std::string_view tag, uint64_t n) {
  static constexpr std::array<std::string_view, 16> code = {"def", " fib", "(n", "):", "\\n", "    return",
                                                             " n", " if", " n", " <", " 2", " else",
                                                             " fib", "(n", "-1", ")"};
  static constexpr std::array<std::string_view, 16> poetry = {"Shall", " I", " compare", " thee", " to", " a",
                                                               " summer", "'s", " day", "?", "\\n", "静",
                                                               "夜", "思", " Thou", " art"};
  static constexpr std::array<std::string_view, 16> math = {"Let", " x", " =", " 3", "^", "2", " +", " 4",
                                                             "^", "2", ",", " then", " √", "x", " =", " 5"};
  static constexpr std::array<std::string_view, 16> prose = {"The", " river", " ran", " quietly", " past",
                                                              " the", " old", " mill", ",", " and", " the",
                                                              " town", " slept", ".", " 我们", "的"};
  const auto& words = tag == "code" ? code : tag == "poetry" ? poetry : tag == "math" ? math : prose;
  return words[n % words.size()];
}

class SyntheticSource final : public SessionSource {
 public:
  explicit SyntheticSource(SyntheticSpec spec) : spec_(spec) {}
  std::string label() const override {
    return "synthetic " + std::to_string(spec_.n_tokens) + " tokens x " + std::to_string(spec_.n_experts) +
           " experts x " + std::to_string(spec_.n_layers) + " layers";
  }
  ModelCard model() const override {
    ModelCard card;
    card.name = "synthetic-moe";
    card.family = "synthetic";
    card.dtype = "bf16";
    card.n_layers = spec_.n_layers;
    card.n_moe_layers = spec_.n_layers;
    card.n_experts = spec_.n_experts;
    card.top_k = effective_top_k(spec_);
    card.hidden_size = 1024;
    card.vocab_size = 32000;
    const int64_t expert_params = 3LL * card.hidden_size * 512;
    const int64_t attn_params = 4LL * card.hidden_size * card.hidden_size;
    card.total_params = card.n_layers * (attn_params + card.n_experts * expert_params) + 2 * card.vocab_size * card.hidden_size;
    card.active_params = card.n_layers * (attn_params + card.top_k * expert_params) + 2 * card.vocab_size * card.hidden_size;
    return card;
  }
  std::vector<RunSummary> runs() override {
    std::vector<RunSummary> out;
    for (int32_t i = 0; i < spec_.n_runs; ++i) {
      RunSummary s;
      s.id = i + 1;
      s.tag = std::string(kTags[static_cast<size_t>(i) % kTags.size()]);
      s.status = "complete";
      s.backend = "cpu";
      s.device = "synthetic";
      s.n_tokens = run_tokens(i);
      s.n_prompt_tokens = std::min(s.n_tokens, 48);
      s.prompt = s.tag + " prompt";
      out.push_back(s);
    }
    return out;
  }
  std::shared_ptr<RunData> load_run(int64_t run_id) override {
    const auto index = static_cast<int32_t>(run_id - 1);
    return make_synthetic_run(spec_, run_id, std::string(kTags[static_cast<size_t>(index) % kTags.size()]),
                              run_tokens(index));
  }
  static int32_t effective_top_k(const SyntheticSpec& spec) {
    return spec.top_k > 0 ? spec.top_k : std::min(spec.n_experts, spec.n_experts <= 16 ? 2 : 8);
  }

 private:
  int32_t run_tokens(int32_t index) const { return index == 0 ? spec_.n_tokens : std::min(spec_.n_tokens, 600); }
  SyntheticSpec spec_;
};

void add_timings(RunData& run, int32_t n_layers, int32_t ep_degree, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> jitter(0.85, 1.2);
  const auto& steps = run.routing.step_of_token;
  int64_t last_step = steps.empty() ? -1 : steps.back();
  for (int64_t step = 0; step <= last_step; ++step) {
    const auto first = std::lower_bound(steps.begin(), steps.end(), step);
    const auto n = static_cast<double>(std::upper_bound(first, steps.end(), step) - first);
    const double scale = 1.0 + 0.08 * n;  // prefill costs more than a decode step
    double t = 0;
    auto zone = [&](int32_t layer, Phase phase, double us) {
      const double d = us * scale * jitter(rng);
      run.timings.push_back({step, layer, phase, t, d});
      t += d;
    };
    zone(-1, Phase::embed, 4);
    for (int32_t l = 1; l <= n_layers; ++l) {  // the model's layer ids, as engines report them
      zone(l, Phase::attention, 38);
      zone(l, Phase::router, 5);
      zone(l, Phase::dispatch, 7);
      if (ep_degree > 1) zone(l, Phase::all_to_all, 16);
      zone(l, Phase::experts, 55);
      if (ep_degree > 1) zone(l, Phase::all_to_all, 14);
      zone(l, Phase::combine, 6);
    }
    zone(-1, Phase::lm_head, 30);
  }
}

// The CUDA engine's offload counters (core/observer.h OffloadEvent) for the synthetic routing: an
// LRU cache of `slots` per layer, each step's distinct experts looked up once; a miss copies one
// Mixtral-sized expert during the layer's experts phase, which waits for part of the copy.
void add_offload(RunData& run, int32_t slots) {
  constexpr int64_t kExpertBytes = int64_t{3} * 4096 * 14336 * 2;
  const auto& r = run.routing;
  std::vector<ExpertCache> caches;
  for (int32_t l = 0; l < r.n_layers; ++l) caches.emplace_back(CachePolicy::lru, std::min(slots, r.n_experts), r.n_experts);
  std::map<std::pair<int64_t, int32_t>, const TimingZone*> experts_zone;
  for (const TimingZone& z : run.timings)
    if (z.phase == Phase::experts) experts_zone.try_emplace({z.step, z.layer}, &z);
  std::vector<int32_t> distinct;
  for (int32_t t0 = 0; t0 < r.n_tokens;) {
    const int64_t step = r.step_of_token[static_cast<size_t>(t0)];
    int32_t t1 = t0;
    while (t1 < r.n_tokens && r.step_of_token[static_cast<size_t>(t1)] == step) ++t1;
    for (int32_t l = 0; l < r.n_layers; ++l) {
      distinct.clear();
      for (int32_t t = t0; t < t1; ++t)
        for (int32_t k = 0; k < r.top_k; ++k) {
          const int32_t e = r.topk_ids[r.topk_offset(l, t) + static_cast<size_t>(k)];
          if (std::find(distinct.begin(), distinct.end(), e) == distinct.end()) distinct.push_back(e);
        }
      OffloadEvent ev;
      ev.step = step;
      ev.layer = r.layer_ids[static_cast<size_t>(l)];
      for (int32_t e : distinct) {
        ++ev.lookups;
        ev.hits += caches[static_cast<size_t>(l)].access(e).hit;
      }
      const int32_t misses = ev.lookups - ev.hits;
      ev.bytes_copied = misses * kExpertBytes;
      const auto zone = experts_zone.find({step, ev.layer});
      if (misses > 0 && zone != experts_zone.end()) {
        const TimingZone& z = *zone->second;
        ev.copy_start_us = z.start_us;
        ev.copy_us = z.duration_us * std::min(0.9, 0.25 + 0.1 * misses);
        ev.stall_start_us = z.start_us + 0.1 * z.duration_us;
        ev.stall_us = std::max(0.0, ev.copy_start_us + ev.copy_us - ev.stall_start_us) * 0.5;
      }
      run.offload.push_back(ev);
    }
    t0 = t1;
  }
  run.offload_slots = slots;
  run.offload_policy = "lru";
}

void add_traffic(RunData& run, int32_t ep_degree) {
  const auto& r = run.routing;
  if (ep_degree <= 1) return;
  const int32_t experts_per_rank = (r.n_experts + ep_degree - 1) / ep_degree;
  int32_t t0 = 0;
  while (t0 < r.n_tokens) {
    int32_t t1 = t0;
    const int64_t step = r.step_of_token[static_cast<size_t>(t0)];
    while (t1 < r.n_tokens && r.step_of_token[static_cast<size_t>(t1)] == step) ++t1;
    for (int32_t l = 0; l < r.n_layers; ++l) {
      TrafficMatrix m;
      m.step = step;
      m.layer = r.layer_ids[static_cast<size_t>(l)];
      m.n_ranks = ep_degree;
      m.tokens.assign(static_cast<size_t>(ep_degree) * ep_degree, 0);
      for (int32_t t = t0; t < t1; ++t) {
        const int32_t src = t % ep_degree;  // tokens spread over ranks round-robin
        for (int32_t k = 0; k < r.top_k; ++k) {
          const int32_t dst = r.topk_ids[r.topk_offset(l, t) + k] / experts_per_rank;
          ++m.tokens[static_cast<size_t>(src) * ep_degree + dst];
        }
      }
      m.bytes.resize(m.tokens.size());
      int64_t total_bytes = 0;
      for (size_t i = 0; i < m.tokens.size(); ++i) {
        m.bytes[i] = m.tokens[i] * 2048 * 2;  // hidden 2048, bf16
        total_bytes += m.bytes[i];
      }
      m.modeled_us = 3.0 + static_cast<double>(total_bytes) / 450e3;  // ~450 GB/s
      run.traffic.push_back(std::move(m));
    }
    t0 = t1;
  }
}

}  // namespace

SyntheticSpec parse_synthetic_spec(const std::string& text) {
  SyntheticSpec spec;
  int32_t values[3] = {0, 0, spec.n_layers};
  int count = 0;
  size_t pos = 0;
  while (count < 3) {
    size_t end = text.find('x', pos);
    const std::string part = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    try {
      size_t used = 0;
      const long v = std::stol(part, &used);
      if (used != part.size() || v < 1 || v > 1000000) throw std::invalid_argument(part);
      values[count++] = static_cast<int32_t>(v);
    } catch (const std::exception&) {
      fail_input("--synthetic: '" + text + "' is not TOKENSxEXPERTS[xLAYERS] with positive sizes (e.g. 10000x256x8)");
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (count < 2 || values[1] < 2 || values[2] > 256) {
    fail_input("--synthetic: '" + text + "' is not TOKENSxEXPERTS[xLAYERS] with 2+ experts and at most 256 layers");
  }
  spec.n_tokens = values[0];
  spec.n_experts = values[1];
  spec.n_layers = values[2];
  return spec;
}

std::unique_ptr<SessionSource> make_synthetic_source(const SyntheticSpec& spec) {
  return std::make_unique<SyntheticSource>(spec);
}

std::shared_ptr<RunData> make_synthetic_run(const SyntheticSpec& spec, int64_t run_id, const std::string& tag,
                                            int32_t n_tokens) {
  auto run = std::make_shared<RunData>();
  const int32_t E = spec.n_experts, L = spec.n_layers, K = SyntheticSource::effective_top_k(spec);
  const int32_t n_prompt = std::min(n_tokens, 48);
  run->summary = {run_id, tag, tag + " prompt", "complete", "cpu", "synthetic", n_tokens, n_prompt};
  auto& r = run->routing;
  r.n_tokens = n_tokens;
  r.n_layers = L;
  r.n_experts = E;
  r.top_k = K;
  for (int32_t l = 0; l < L; ++l) r.layer_ids.push_back(l + 1);
  r.topk_ids.resize(static_cast<size_t>(L) * n_tokens * K);
  r.topk_weights.resize(r.topk_ids.size());
  r.scores.resize(static_cast<size_t>(L) * n_tokens * E);
  for (int32_t t = 0; t < n_tokens; ++t) {
    r.step_of_token.push_back(t < n_prompt ? 0 : t - n_prompt + 1);
    r.token_ids.push_back(static_cast<int32_t>((t * 7919) % 32000));
    run->token_text.emplace_back(word_for(tag, static_cast<uint64_t>(t)));
    run->generated.push_back(t < n_prompt ? 0 : 1);
  }
  // Preferences: shared by all tags (seed) plus a tag-specific part (seed + tag), so tags differ
  // but not completely, as in real models.
  const uint64_t tag_seed = std::hash<std::string>{}(tag);
  std::mt19937_64 shared_rng(spec.seed), tag_rng(spec.seed ^ tag_seed), noise_rng(spec.seed * 31 + static_cast<uint64_t>(run_id));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> bias(static_cast<size_t>(E)), prev(static_cast<size_t>(E)), logits(static_cast<size_t>(E));
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int32_t l = 0; l < L; ++l) {
    for (int32_t e = 0; e < E; ++e) bias[e] = 0.8f * normal(shared_rng) + 1.1f * normal(tag_rng);
    std::fill(prev.begin(), prev.end(), 0.0f);
    for (int32_t t = 0; t < n_tokens; ++t) {
      float max_logit = -INFINITY;
      for (int32_t e = 0; e < E; ++e) {
        logits[e] = bias[e] + 0.55f * prev[e] + 1.2f * normal(noise_rng);
        prev[e] = logits[e] - bias[e];
        max_logit = std::max(max_logit, logits[e]);
      }
      float* scores = r.scores.data() + r.score_offset(l, t);
      float z = 0;
      for (int32_t e = 0; e < E; ++e) z += scores[e] = std::exp(logits[e] - max_logit);
      for (int32_t e = 0; e < E; ++e) scores[e] /= z;
      for (int32_t e = 0; e < E; ++e) order[e] = e;
      std::partial_sort(order.begin(), order.begin() + K, order.end(),
                        [&](int32_t a, int32_t b) { return scores[a] > scores[b]; });
      float sum = 0;
      for (int32_t k = 0; k < K; ++k) sum += scores[order[k]];
      const size_t off = r.topk_offset(l, t);
      for (int32_t k = 0; k < K; ++k) {
        r.topk_ids[off + k] = order[k];
        r.topk_weights[off + k] = scores[order[k]] / sum;
      }
    }
  }
  std::mt19937_64 timing_rng(spec.seed + 99);
  add_timings(*run, L, spec.ep_degree, timing_rng);
  add_traffic(*run, spec.ep_degree);
  if (spec.offload_slots > 0) add_offload(*run, spec.offload_slots);
  return run;
}

}  // namespace moescope::ui
