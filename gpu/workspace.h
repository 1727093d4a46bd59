// Activation buffers of one forward step, sized for a token count and a key count, carved from one
// device allocation. The decode workspace (T <= kMaxDecodeTokens) never moves, so the decode CUDA
// graph can hold its pointers; the prefill workspace grows with the longest step seen.
#pragma once

#include <cstdint>

#include "core/model_config.h"
#include "gpu/device_buffer.h"
#include "gpu/device_model.h"

namespace moescope::gpu {

struct WorkspaceShape {
  int64_t tokens = 0;      // T
  int64_t keys = 0;        // Lk for prefill attention (position + T), 0 for decode
  int64_t head_chunk = 0;  // heads per attention-score chunk (prefill)
  int64_t splits = 0;      // decode attention splits
  int64_t ep_ranks = 0;    // emulated expert-parallel ranks (> 1 adds the exchange buffers)
};

struct Workspace {
  WorkspaceShape shape;
  DeviceBuffer arena;
  int32_t* tokens = nullptr;    // (T)
  float* h = nullptr;           // (T, hidden) residual stream
  bf16* xb = nullptr;           // (T, hidden) normed input of a block
  bf16* xlo = nullptr;          // (T, hidden) what bf16 rounding took off xb (router input)
  float* proj = nullptr;        // (T, in_proj rows) fp32
  float* qf = nullptr;          // (T, H*qk) fp32 (MLA q_b output)
  bf16* qa = nullptr;           // (T, q_lora)
  bf16* q = nullptr;            // (T, H, qk)
  bf16* q_abs = nullptr;        // (T, H, kv_lora + rope) absorbed MLA query
  bf16* o_lat = nullptr;        // (T, H, kv_lora)
  bf16* attn = nullptr;         // (T, H*v)
  float* part_o = nullptr;      // (T, H, splits, decode dv)
  float* part_ml = nullptr;     // (T, H, splits, 2)
  float* scores_qk = nullptr;   // (head_chunk, T, Lk)
  bf16* probs = nullptr;        // (head_chunk, T, Lk)
  bf16* kvx = nullptr;          // (Lk, H*(nope+v)) MLA prefill
  bf16* kfull = nullptr;        // (Lk, H, qk) MLA prefill
  bf16* gu = nullptr;           // (ffn rows, 2*width)
  bf16* act = nullptr;          // (ffn rows, width)
  bf16* xs = nullptr;           // (2*T*k, hidden) tokens sorted by expert (room for padding)
  bf16* ys = nullptr;           // (2*T*k, hidden) expert outputs
  float* router_logits = nullptr;  // (T, E)
  float* scores = nullptr;         // (T, E)
  int32_t* ids = nullptr;          // (T, k)
  float* weights = nullptr;        // (T, k)
  int32_t* rank = nullptr;         // (T*k)
  int32_t* slot_of = nullptr;      // (T*k)
  uint8_t* dropped = nullptr;      // (T*k)
  int32_t* counts = nullptr;       // (E)
  int32_t* offsets = nullptr;      // (E+1)
  float* logits = nullptr;         // (T, vocab)
  bf16* ep_send = nullptr;         // (T*k, hidden) emulated EP send blocks
  bf16* ep_recv = nullptr;         // (T*k, hidden) emulated EP receive blocks
  int32_t* ep_pair_rows = nullptr;     // (R*R)
  int32_t* ep_pair_cursor = nullptr;   // (R*R)
  int32_t* ep_send_offset = nullptr;   // (R*R)
  int32_t* ep_recv_offset = nullptr;   // (R*R)
};

// Bytes a workspace of `shape` takes (the same planning code as make_workspace).
size_t workspace_bytes(const ModelConfig& config, const WorkspaceShape& shape);
Workspace make_workspace(const ModelConfig& config, const WorkspaceShape& shape);

}  // namespace moescope::gpu
