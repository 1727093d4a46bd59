// Emulated expert-parallel all-to-all on one GPU: the step's tokens are split contiguously over R
// ranks (token_owner), each token's normed activations are gathered once into the send buffer of
// every rank pair (src, dst) that hosts one of its experts, and the exchange copies each
// off-diagonal pair's block from the src-major send buffer into the dst-major receive buffer (the
// combine copies them back). The rule for picking a copy of a replicated expert is
// core/analysis/ep_traffic.cpp's: the token's own rank if it has one, else copy (token mod copies).
// Nothing here feeds the forward pass: one GPU runs every expert, so the output is unchanged and
// the copies are what the exchange costs in device memory traffic. Sizes live in device memory, so
// the decode graph replays it.
#include <algorithm>

#include "gpu/cuda_check.h"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {

constexpr int kMaxTopk = 64;  // the engine refuses num_experts_per_tok above 64

// The distinct destination ranks of token t (owned by src), in the order its experts are listed.
__device__ int token_destinations(const EpExchange& x, int t, int src, int* dst) {
  int n = 0;
  for (int s = 0; s < x.k; ++s) {
    const int e = x.ids[t * x.k + s];
    if (e < 0 || e >= x.E) continue;  // never from the router; a bad id must not read past the table
    const int first = x.copy_offsets[e], copies = x.copy_offsets[e + 1] - first;
    int d = x.copy_ranks[first + t % copies];
    for (int c = 0; c < copies; ++c)
      if (x.copy_ranks[first + c] == src) d = src;
    bool seen = false;
    for (int i = 0; i < n; ++i) seen |= dst[i] == d;
    if (!seen) dst[n++] = d;
  }
  return n;
}

__device__ __forceinline__ int token_owner(int t, int T, int R) {
  return static_cast<int>(static_cast<int64_t>(t) * R / T);
}

__global__ void ep_count_kernel(EpExchange x) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= x.T) return;
  int dst[kMaxTopk];
  const int src = token_owner(t, x.T, x.R);
  const int n = token_destinations(x, t, src, dst);
  for (int i = 0; i < n; ++i) atomicAdd(&x.pair_rows[src * x.R + dst[i]], 1);
}

// One thread: R*R is at most a few thousand pairs. Send blocks are src-major, receive blocks
// dst-major, as each rank's buffers would be laid out.
__global__ void ep_offsets_kernel(EpExchange x) {
  const int R = x.R;
  int send = 0, recv = 0;
  for (int p = 0; p < R * R; ++p) {
    x.send_offset[p] = send;
    x.pair_cursor[p] = 0;
    send += x.pair_rows[p];
  }
  for (int dst = 0; dst < R; ++dst) {
    for (int src = 0; src < R; ++src) {
      x.recv_offset[src * R + dst] = recv;
      recv += x.pair_rows[src * R + dst];
    }
  }
}

// One block per token: its row into the send block of each pair it travels on.
__global__ void ep_gather_kernel(EpExchange x) {
  __shared__ int rows[kMaxTopk];
  __shared__ int n_rows;
  const int t = blockIdx.x;
  if (threadIdx.x == 0) {
    int dst[kMaxTopk];
    const int src = token_owner(t, x.T, x.R);
    n_rows = token_destinations(x, t, src, dst);
    for (int i = 0; i < n_rows; ++i) {
      const int p = src * x.R + dst[i];
      rows[i] = x.send_offset[p] + atomicAdd(&x.pair_cursor[p], 1);
    }
  }
  __syncthreads();
  const uint4* in = reinterpret_cast<const uint4*>(x.x + static_cast<int64_t>(t) * x.hidden);
  const int vecs = x.hidden / 8;
  for (int i = 0; i < n_rows; ++i) {
    uint4* out = reinterpret_cast<uint4*>(x.send + static_cast<int64_t>(rows[i]) * x.hidden);
    for (int v = threadIdx.x; v < vecs; v += blockDim.x) out[v] = in[v];
  }
}

// grid (R*R pairs, blocks per pair): each off-diagonal pair's rows, send -> receive (dispatch) or
// receive -> send (combine).
__global__ void ep_exchange_kernel(EpExchange x, bool combine) {
  const int p = blockIdx.x, src = p / x.R, dst = p % x.R;
  if (src == dst) return;  // stays on its rank
  const int64_t vecs = static_cast<int64_t>(x.pair_rows[p]) * (x.hidden / 8);
  const uint4* send =
      reinterpret_cast<const uint4*>(x.send + static_cast<int64_t>(x.send_offset[p]) * x.hidden);
  const uint4* recv =
      reinterpret_cast<const uint4*>(x.recv + static_cast<int64_t>(x.recv_offset[p]) * x.hidden);
  const uint4* from = combine ? recv : send;
  uint4* to = const_cast<uint4*>(combine ? send : recv);
  for (int64_t v = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x; v < vecs;
       v += static_cast<int64_t>(gridDim.y) * blockDim.x)
    to[v] = from[v];
}

}  // namespace

void launch_ep_gather(const EpExchange& x, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(x.pair_rows, 0, static_cast<size_t>(x.R) * x.R * sizeof(int32_t), stream));
  ep_count_kernel<<<(x.T + 127) / 128, 128, 0, stream>>>(x);
  CUDA_CHECK_LAUNCH();
  ep_offsets_kernel<<<1, 1, 0, stream>>>(x);
  CUDA_CHECK_LAUNCH();
  ep_gather_kernel<<<x.T, 128, 0, stream>>>(x);
  CUDA_CHECK_LAUNCH();
}

void launch_ep_exchange(const EpExchange& x, bool combine, cudaStream_t stream) {
  // Enough blocks per pair to cover a step's rows without knowing them on the host.
  const int per_pair = std::max(1, std::min(64, x.T * x.k / std::max(1, x.R)));
  ep_exchange_kernel<<<dim3(x.R * x.R, per_pair), 256, 0, stream>>>(x, combine);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu
