#!/usr/bin/env python3
"""Train the bundled demo MoE (Mixtral layout) on the corpus made by make_corpus.py.

Each batch row is a window from one domain's token stream (documents as <s> ids </s>), the domain
drawn with fixed weights, so every domain is seen throughout. Loss: next-token cross-entropy plus
router_aux_loss_coef x the Switch/Mixtral load-balancing loss. Every --eval-every steps the
per-domain validation loss is measured on fixed windows; the best mean validation loss is saved as
a Hugging Face Mixtral checkpoint (config.json, bf16 model.safetensors, tokenizer.model).
Logs: train_log.csv (per step) and eval_log.csv (per evaluation) in --out.
"""
import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MixtralForCausalLM, load_balancing_loss, save_safetensors_bf16  # noqa: E402

# Roughly proportional to each domain's size, so each is seen ~3 times; verse (~0.1 M tokens, all the
# fortune poems there are) is repeated more and still gets a small weight.
DOMAIN_WEIGHTS = {"code": 0.36, "prose": 0.27, "multi": 0.12, "maths": 0.18, "verse": 0.07}


def make_config(args, vocab_size):
    """The same keys, in the same order, as a Hugging Face Mixtral config.json."""
    return {
        "architectures": ["MixtralForCausalLM"],
        "model_type": "mixtral",
        "vocab_size": vocab_size,
        "hidden_size": args.hidden,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "max_position_embeddings": 1024,
        "rms_norm_eps": 1e-05,
        "rope_theta": 1000000.0,
        "num_local_experts": args.experts,
        "num_experts_per_tok": 2,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "bos_token_id": 1,
        "eos_token_id": 2,
        "router_aux_loss_coef": args.aux_coef,
        "output_router_logits": False,
        "torch_dtype": "bfloat16",
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
    }


def load_streams(path):
    """tokens.npz (tokenize_corpus.py) -> {(domain, split): (ids int32 [N], doc starts int64 [D])}."""
    data = np.load(path)
    streams = {}
    for split in ("train", "valid"):
        for name in DOMAIN_WEIGHTS:
            streams[(name, split)] = (data[f"{name}.{split}.ids"], data[f"{name}.{split}.starts"])
    return streams, int(data["vocab_size"])


def sample_batch(rng, streams, batch, seq):
    """[batch, seq+1] windows; half start at a document start (so <s> at position 0 is common)."""
    names = list(DOMAIN_WEIGHTS)
    weights = [DOMAIN_WEIGHTS[n] for n in names]
    rows = []
    for _ in range(batch):
        name = rng.choices(names, weights)[0]
        stream, starts = streams[(name, "train")]
        limit = len(stream) - seq - 1
        if rng.random() < 0.5:
            s = int(starts[rng.randrange(len(starts))])
            s = min(s, limit)
        else:
            s = rng.randrange(limit)
        rows.append(stream[s:s + seq + 1])
    return torch.from_numpy(np.stack(rows).astype(np.int64))


def valid_windows(streams, seq, max_windows):
    """Fixed, non-overlapping validation windows per domain."""
    out = {}
    for name in DOMAIN_WEIGHTS:
        stream, _ = streams[(name, "valid")]
        n = min(max_windows, (len(stream) - 1) // seq)
        out[name] = torch.from_numpy(
            np.stack([stream[i * seq:i * seq + seq + 1] for i in range(n)]).astype(np.int64))
    return out


@torch.no_grad()
def evaluate(model, windows, batch, device):
    model.eval()
    losses = {}
    for name, w in windows.items():
        total, count = 0.0, 0
        for i in range(0, len(w), batch):
            x = w[i:i + batch].to(device)
            logits, _, _ = model(x[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                   reduction="sum")
            total += loss.item()
            count += x[:, 1:].numel()
        losses[name] = total / count
    model.train()
    return losses


def save_checkpoint(model, cfg, tokenizer_path, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors_bf16(model.state_dict(), os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.model"))


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    p = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokens", required=True, help="tokens.npz from tokenize_corpus.py")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.model, copied into the checkpoint")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", required=True, help="working folder: logs and the best checkpoint (model/)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--aux-coef", type=float, default=0.02)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=384)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-windows", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="stop early (after an evaluation) once this much wall time has passed; 0 = no limit")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True  # the checkpoint is bf16 anyway
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    streams, vocab_size = load_streams(args.tokens)
    stats = {name: {"train_tokens": int(len(streams[(name, "train")][0])),
                    "valid_tokens": int(len(streams[(name, "valid")][0]))} for name in DOMAIN_WEIGHTS}
    print("tokens per domain:", json.dumps(stats), flush=True)
    windows = valid_windows(streams, args.seq, args.eval_windows)

    cfg = make_config(args, vocab_size)
    model = MixtralForCausalLM(cfg).to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"device: {args.device} ({torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu'})", flush=True)
    print(f"parameters: {n_params / 1e6:.2f} M ({2 * n_params / 1e6:.1f} MB in bf16)", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    train_log = open(os.path.join(args.out, "train_log.csv"), "w", newline="")
    tw = csv.writer(train_log)
    tw.writerow(["step", "elapsed_s", "lr", "loss", "aux_loss"])
    eval_log = open(os.path.join(args.out, "eval_log.csv"), "w", newline="")
    ew = csv.writer(eval_log)
    ew.writerow(["step", "elapsed_s"] + [f"valid_loss_{n}" for n in DOMAIN_WEIGHTS] + ["valid_loss_mean"])

    best = float("inf")
    summary = {"config": cfg, "args": vars(args), "tokens": stats, "parameters": n_params}
    start = time.time()
    step = 0
    for step in range(args.steps + 1):
        if step % args.eval_every == 0 or step == args.steps:
            losses = evaluate(model, windows, args.batch, args.device)
            mean = sum(losses.values()) / len(losses)
            elapsed = time.time() - start
            ew.writerow([step, f"{elapsed:.1f}"] + [f"{losses[n]:.4f}" for n in DOMAIN_WEIGHTS] + [f"{mean:.4f}"])
            eval_log.flush()
            print(f"step {step} {elapsed:.0f}s valid " +
                  " ".join(f"{n}={losses[n]:.3f}" for n in DOMAIN_WEIGHTS) + f" mean={mean:.3f}", flush=True)
            if mean < best:
                best = mean
                save_checkpoint(model, cfg, args.tokenizer, os.path.join(args.out, "model"))
                summary.update(best_step=step, best_valid_loss=losses,
                               best_valid_ppl={n: math.exp(v) for n, v in losses.items()})
            summary.update(steps_done=step, elapsed_s=elapsed,
                           tokens_seen=step * args.batch * args.seq)
            with open(os.path.join(args.out, "summary.json"), "w") as f:
                json.dump(summary, f, indent=2)
            if step == args.steps or (args.max_minutes and elapsed > args.max_minutes * 60):
                break
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sample_batch(rng, streams, args.batch, args.seq).to(args.device, non_blocking=True)
        logits, router_logits, _ = model(x[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        aux = load_balancing_loss(router_logits, cfg["num_experts_per_tok"])
        loss = ce + args.aux_coef * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tw.writerow([step, f"{time.time() - start:.1f}", f"{lr:.6f}", f"{ce.item():.4f}", f"{aux.item():.4f}"])
        if step % 50 == 0:
            train_log.flush()
            print(f"step {step} loss {ce.item():.3f} aux {aux.item():.3f} lr {lr:.2e} "
                  f"{time.time() - start:.0f}s", flush=True)
    print(f"best mean valid loss {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
