// Emulated expert-parallel all-to-all: which rank sends how many token copies to which, per MoE
// layer and forward step, and how long that exchange takes on a modelled interconnect.
//
// Model (as in DeepEP / Megatron's all-to-all dispatcher): a step's tokens are split contiguously
// over the R ranks; a token is sent once to every rank hosting at least one of its experts (the
// receiving rank runs all of them), and its results come back along the same pairs (combine).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/ep_placement.h"
#include "core/analysis/routing_arrays.h"

namespace moescope::analysis {

struct Interconnect {
  std::string name;
  double bandwidth_GBps = 0.0;  // per rank, per direction, 1 GB = 1e9 bytes
  double latency_us = 0.0;      // fixed cost of one all-to-all
};

// Bandwidths are the vendor's per-direction peak; latencies are an assumed order of magnitude for
// one NCCL all-to-all on that fabric, not measurements: edit them for your cluster.
Interconnect nvlink4();           // H100 SXM NVLink 4: 18 links x 25 GB/s = 450 GB/s per direction (900 GB/s bidirectional, NVIDIA H100 datasheet); 3 us
Interconnect pcie5_x16();        // PCIe 5.0 x16: 32 GT/s x 16 lanes x 128b/130b = 63 GB/s per direction (PCI-SIG); 10 us
Interconnect infiniband_400g();  // InfiniBand NDR 400 Gb/s per port = 50 GB/s per direction (ConnectX-7); 5 us
// "nvlink4", "pcie5", "ib400"; nullopt for another name.
std::optional<Interconnect> interconnect_preset(std::string_view name);

// Rank owning token t of a step of n_tokens: floor(t * R / n_tokens).
int32_t token_owner(int32_t token, int32_t n_tokens, int32_t n_ranks);

struct TrafficMatrix {
  int64_t step = 0;
  int32_t layer = 0;  // index into the MoE layers
  int32_t n_ranks = 0;
  std::vector<int64_t> dispatch_tokens;  // (n_ranks, n_ranks) source-major [src * R + dst]; diagonal stays on the rank
  std::vector<int64_t> dispatch_bytes;   // (n_ranks, n_ranks) tokens * hidden_size * bytes_per_elem
  std::vector<int64_t> combine_tokens;   // (n_ranks, n_ranks) the transpose: results sent back to the owner
  std::vector<int64_t> combine_bytes;    // (n_ranks, n_ranks)
};

// One layer of one step. topk_ids (n_tokens, top_k). Where an expert has several copies, a token
// uses the copy on its own rank if there is one, else copy (token mod copies).
TrafficMatrix step_traffic(std::span<const int32_t> topk_ids, int32_t n_tokens, int32_t top_k,
                           const ExpertPlacement& placement, int64_t hidden_size, int32_t bytes_per_elem);

// Every (layer, step) of a run, layer-major, steps in order.
std::vector<TrafficMatrix> run_traffic(const RoutingArrays& arrays, const ExpertPlacement& placement,
                                       int64_t hidden_size, int32_t bytes_per_elem);

// latency + max over ranks of max(bytes sent, bytes received) / bandwidth, off-diagonal bytes only
// (each rank's link is the bottleneck). bytes (n_ranks, n_ranks); 0 for a single rank.
double modeled_all_to_all_us(std::span<const int64_t> bytes, int32_t n_ranks, const Interconnect& link);

// Dispatch plus combine.
double modeled_step_us(const TrafficMatrix& traffic, const Interconnect& link);

}  // namespace moescope::analysis
