#include "core/analysis/ep_traffic.h"

#include <algorithm>
#include <cmath>

#include "core/checked_math.h"
#include "core/error.h"

namespace moescope::analysis {

Interconnect nvlink4() { return {"NVLink 4", 450.0, 3.0}; }
Interconnect pcie5_x16() { return {"PCIe 5.0 x16", 63.0, 10.0}; }
Interconnect infiniband_400g() { return {"InfiniBand NDR 400G", 50.0, 5.0}; }

std::optional<Interconnect> interconnect_preset(std::string_view name) {
  if (name == "nvlink4") return nvlink4();
  if (name == "pcie5") return pcie5_x16();
  if (name == "ib400") return infiniband_400g();
  return std::nullopt;
}

int32_t token_owner(int32_t token, int32_t n_tokens, int32_t n_ranks) {
  if (token < 0 || token >= n_tokens || n_ranks < 1) {
    fail_input("token owner: token " + std::to_string(token) + " of a " + std::to_string(n_tokens) + "-token step over " +
               std::to_string(n_ranks) + " ranks, expected 0 <= token < n_tokens and n_ranks >= 1");
  }
  return static_cast<int32_t>(static_cast<int64_t>(token) * n_ranks / n_tokens);
}

TrafficMatrix step_traffic(std::span<const int32_t> topk_ids, int32_t n_tokens, int32_t top_k,
                           const ExpertPlacement& p, int64_t hidden_size, int32_t bytes_per_elem) {
  const int32_t R = p.n_ranks;
  const int32_t E = static_cast<int32_t>(p.ranks_of_expert.size());
  if (R < 1 || E < 1) fail_input("EP traffic: the placement has no ranks or no experts");
  if (n_tokens < 0 || top_k < 1 || topk_ids.size() != static_cast<size_t>(n_tokens) * top_k) {
    fail_input("EP traffic: topk_ids has " + std::to_string(topk_ids.size()) + " values, expected " +
               std::to_string(n_tokens) + " tokens x top-" + std::to_string(top_k));
  }
  if (hidden_size < 1 || bytes_per_elem < 1) {
    fail_input("EP traffic: hidden_size and bytes_per_elem must be >= 1 (got " + std::to_string(hidden_size) + ", " +
               std::to_string(bytes_per_elem) + ")");
  }
  const int64_t bytes_per_token = checked_mul(hidden_size, bytes_per_elem, "EP traffic bytes per token");
  TrafficMatrix out;
  out.n_ranks = R;
  const size_t cells = static_cast<size_t>(R) * R;
  out.dispatch_tokens.assign(cells, 0);
  std::vector<uint8_t> sent(R);
  for (int32_t t = 0; t < n_tokens; ++t) {
    const int32_t src = token_owner(t, n_tokens, R);
    std::fill(sent.begin(), sent.end(), 0);
    for (int32_t s = 0; s < top_k; ++s) {
      const int32_t e = topk_ids[static_cast<size_t>(t) * top_k + s];
      if (e == kNoExpert) continue;  // an empty slot (expert choice) sends nothing
      if (e < 0 || e >= E) fail_input("EP traffic: expert id " + std::to_string(e) + " outside the placement's " + std::to_string(E) + " experts");
      const auto& holders = p.ranks_of_expert[e];
      if (holders.empty()) fail_input("EP traffic: expert " + std::to_string(e) + " is on no rank");
      const bool local = std::find(holders.begin(), holders.end(), src) != holders.end();
      const int32_t dst = local ? src : holders[t % holders.size()];
      if (dst < 0 || dst >= R) fail_input("EP traffic: expert " + std::to_string(e) + " placed on rank " + std::to_string(dst) + " outside [0, " + std::to_string(R) + ")");
      if (!sent[dst]) {
        sent[dst] = 1;
        ++out.dispatch_tokens[static_cast<size_t>(src) * R + dst];
      }
    }
  }
  out.combine_tokens.assign(cells, 0);
  out.dispatch_bytes.resize(cells);
  out.combine_bytes.resize(cells);
  for (int32_t s = 0; s < R; ++s) {
    for (int32_t d = 0; d < R; ++d) out.combine_tokens[static_cast<size_t>(d) * R + s] = out.dispatch_tokens[static_cast<size_t>(s) * R + d];
  }
  for (size_t i = 0; i < cells; ++i) {
    out.dispatch_bytes[i] = out.dispatch_tokens[i] * bytes_per_token;
    out.combine_bytes[i] = out.combine_tokens[i] * bytes_per_token;
  }
  return out;
}

std::vector<TrafficMatrix> run_traffic(const RoutingArrays& a, const ExpertPlacement& p, int64_t hidden_size,
                                       int32_t bytes_per_elem) {
  validate(a);
  if (static_cast<int32_t>(p.ranks_of_expert.size()) != a.n_experts) {
    fail_input("EP traffic: the placement covers " + std::to_string(p.ranks_of_expert.size()) + " experts, the run has " +
               std::to_string(a.n_experts));
  }
  std::vector<TrafficMatrix> out;
  for (int32_t layer = 0; layer < a.n_layers; ++layer) {
    int32_t begin = 0;
    while (begin < a.n_tokens) {
      int32_t end = begin;
      while (end < a.n_tokens && a.step_of_token[end] == a.step_of_token[begin]) ++end;
      const std::span<const int32_t> ids(a.topk_ids.data() + a.topk_offset(layer, begin),
                                         static_cast<size_t>(end - begin) * a.top_k);
      TrafficMatrix m = step_traffic(ids, end - begin, a.top_k, p, hidden_size, bytes_per_elem);
      m.step = a.step_of_token[begin];
      m.layer = layer;
      out.push_back(std::move(m));
      begin = end;
    }
  }
  return out;
}

double modeled_all_to_all_us(std::span<const int64_t> bytes, int32_t n_ranks, const Interconnect& link) {
  if (n_ranks < 1 || bytes.size() != static_cast<size_t>(n_ranks) * n_ranks) {
    fail_input("all-to-all model: " + std::to_string(bytes.size()) + " byte counts for " + std::to_string(n_ranks) +
               " ranks, expected a square matrix");
  }
  if (!(link.bandwidth_GBps > 0.0) || !(link.latency_us >= 0.0)) {
    fail_input("interconnect '" + link.name + "': bandwidth must be > 0 GB/s and latency >= 0 us");
  }
  if (n_ranks == 1) return 0.0;
  double worst = 0.0;
  for (int32_t r = 0; r < n_ranks; ++r) {
    double sent = 0.0, received = 0.0;
    for (int32_t o = 0; o < n_ranks; ++o) {
      if (o == r) continue;
      sent += static_cast<double>(bytes[static_cast<size_t>(r) * n_ranks + o]);
      received += static_cast<double>(bytes[static_cast<size_t>(o) * n_ranks + r]);
    }
    worst = std::max({worst, sent, received});
  }
  // bytes / (GB/s * 1e9) seconds = bytes / (GB/s * 1e3) microseconds
  return link.latency_us + worst / (link.bandwidth_GBps * 1e3);
}

double modeled_step_us(const TrafficMatrix& t, const Interconnect& link) {
  return modeled_all_to_all_us(t.dispatch_bytes, t.n_ranks, link) + modeled_all_to_all_us(t.combine_bytes, t.n_ranks, link);
}

}  // namespace moescope::analysis
