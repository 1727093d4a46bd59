"""A Mixtral decoder in plain PyTorch whose math and tensor names match Hugging Face's
MixtralForCausalLM: RMSNorm (float32 inside), rotary embeddings with rope_theta (rotate_half
layout), grouped-query attention, softmax router over all experts then top-k renormalised, SwiGLU
experts w2(silu(w1 x) * w3 x). Parameter names are the checkpoint names, so state_dict() is the
checkpoint. Also reads and writes safetensors (bf16) without the safetensors package.
"""
import json
import math
import struct

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotary_cos_sin(seq_len, head_dim, theta, device):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim))
    pos = torch.arange(seq_len, dtype=torch.float32, device=device)
    freqs = torch.outer(pos, inv_freq)  # [T, head_dim/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, head_dim]
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg["num_key_value_heads"]
        self.head_dim = h // self.n_heads
        self.q_proj = nn.Linear(h, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, h, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # [B,H,T,D]
        k = self.k_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)  # [B,KV,T,D]
        v = self.v_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.n_heads // self.n_kv  # query head h reads kv head h // rep, as HF repeat_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B,H,T,T]
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = (probs @ v).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(out)


class Expert(nn.Module):
    def __init__(self, h, inter):
        super().__init__()
        self.w1 = nn.Linear(h, inter, bias=False)
        self.w2 = nn.Linear(inter, h, bias=False)
        self.w3 = nn.Linear(h, inter, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class SparseMoe(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.n_experts = cfg["num_local_experts"]
        self.top_k = cfg["num_experts_per_tok"]
        self.gate = nn.Linear(h, self.n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(h, cfg["intermediate_size"]) for _ in range(self.n_experts))

    def forward(self, x):
        """x [B,T,h] -> (out [B,T,h], router_logits [B*T,E], chosen [B*T,k])."""
        B, T, h = x.shape
        flat = x.reshape(-1, h)
        logits = self.gate(flat)  # [N,E]
        probs = torch.softmax(logits, dim=-1, dtype=torch.float)
        weights, chosen = torch.topk(probs, self.top_k, dim=-1)  # [N,k]
        weights = (weights / weights.sum(dim=-1, keepdim=True)).to(flat.dtype)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            tok, slot = torch.where(chosen == e)
            if tok.numel() == 0:
                continue
            y = expert(flat[tok]) * weights[tok, slot, None]
            out.index_add_(0, tok, y)
        return out.view(B, T, h), logits, chosen


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.block_sparse_moe = SparseMoe(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        moe_out, logits, chosen = self.block_sparse_moe(self.post_attention_layernorm(x))
        return x + moe_out, logits, chosen


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class MixtralForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        std = cfg["initializer_range"]
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=std)

    def forward(self, ids):
        """ids [B,T] -> (logits [B,T,V], per-layer router logits [B*T,E], per-layer chosen [B*T,k])."""
        T = ids.shape[1]
        head_dim = self.cfg["hidden_size"] // self.cfg["num_attention_heads"]
        cos, sin = rotary_cos_sin(T, head_dim, self.cfg["rope_theta"], ids.device)
        x = self.model.embed_tokens(ids)
        all_logits, all_chosen = [], []
        for layer in self.model.layers:
            x, logits, chosen = layer(x, cos, sin)
            all_logits.append(logits)
            all_chosen.append(chosen)
        return self.lm_head(self.model.norm(x)), all_logits, all_chosen


def load_balancing_loss(router_logits, top_k):
    """Switch/Mixtral auxiliary loss, as transformers' load_balancing_loss_func: the experts'
    share of routed tokens times their mean router probability, summed, times the expert count,
    over all layers' tokens together. 1.0 when perfectly balanced."""
    logits = torch.cat(router_logits, dim=0)  # [layers*N, E]
    n_experts = logits.shape[-1]
    probs = torch.softmax(logits, dim=-1, dtype=torch.float)
    _, chosen = torch.topk(probs, top_k, dim=-1)
    mask = F.one_hot(chosen, n_experts).float()  # [N,k,E]
    tokens_per_expert = mask.mean(dim=0)  # [k,E]
    prob_per_expert = probs.mean(dim=0)  # [E]
    return (tokens_per_expert * prob_per_expert.unsqueeze(0)).sum() * n_experts


def save_safetensors_bf16(state_dict, path):
    """Write every tensor as BF16 in the safetensors format (header JSON, 8-byte aligned)."""
    names = sorted(state_dict)
    blobs, header, offset = [], {}, 0
    for name in names:
        t = state_dict[name].detach().to("cpu", torch.bfloat16).contiguous()
        data = t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Read a safetensors file (BF16/F32/I32 tensors) into float32 torch tensors."""
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16)
        elif info["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
        elif info["dtype"] == "I32":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int32).copy())
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected BF16, F32 or I32")
        out[name] = t.reshape(info["shape"]).float()
    return out
