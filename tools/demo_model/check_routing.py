#!/usr/bin/env python3
"""Measure the demo model's domain-dependent routing on the prompt sets.

For every prompt (encoded with <s>, as `record` does) and layer, count how often each expert is in
the top-2 over the prompt's tokens. Per layer and pair of tags, the Jensen-Shannon divergence
(base 2, so 0..1) between the two tags' pooled expert distributions is compared with the same
statistic under random relabellings of the same prompts (permutation test).
Usage: check_routing.py CHECKPOINT_DIR PROMPTS_DIR [--perms N] [--json OUT] [--random-init]
"""
import argparse
import glob
import json
import math
import os
import random
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MixtralForCausalLM, load_safetensors  # noqa: E402


def js_divergence(p, q):
    m = [(a + b) / 2 for a, b in zip(p, q)]

    def kl(x, y):
        return sum(a * math.log2(a / b) for a, b in zip(x, y) if a > 0)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def pooled(counts):
    total = [sum(c[e] for c in counts) for e in range(len(counts[0]))]
    s = sum(total)
    return [t / s for t in total]


def permutation_test(a, b, perms, rng):
    """a, b: per-prompt expert count vectors. Returns (observed JS, mean null JS, p-value)."""
    observed = js_divergence(pooled(a), pooled(b))
    both = a + b
    hits, null_sum = 0, 0.0
    for _ in range(perms):
        rng.shuffle(both)
        js = js_divergence(pooled(both[:len(a)]), pooled(both[len(a):]))
        null_sum += js
        hits += js >= observed
    return observed, null_sum / perms, (hits + 1) / (perms + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("prompts")
    ap.add_argument("--perms", type=int, default=2000)
    ap.add_argument("--json", help="write the measurements here")
    ap.add_argument("--random-init", action="store_true",
                    help="control: the same architecture with freshly initialised weights (seed 0); "
                         "routing by token identity alone already separates tags a little")
    args = ap.parse_args()

    cfg = json.load(open(os.path.join(args.checkpoint, "config.json")))
    torch.manual_seed(0)
    model = MixtralForCausalLM(cfg)
    if not args.random_init:
        model.load_state_dict(load_safetensors(os.path.join(args.checkpoint, "model.safetensors")), strict=True)
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.checkpoint, "tokenizer.model"))

    counts = {}  # tag -> per layer -> list of per-prompt [E] counts
    n_layers, n_experts = cfg["num_hidden_layers"], cfg["num_local_experts"]
    for path in sorted(glob.glob(os.path.join(args.prompts, "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            item = json.loads(line)
            ids = torch.tensor([[sp.bos_id()] + sp.encode(item["text"])])
            with torch.no_grad():
                _, _, chosen = model(ids)
            per_layer = counts.setdefault(item["tag"], [[] for _ in range(n_layers)])
            for layer, ch in enumerate(chosen):
                per_layer[layer].append(torch.bincount(ch.reshape(-1), minlength=n_experts).tolist())

    rng = random.Random(0)
    tags = sorted(counts)
    result = {"perms": args.perms, "prompts": {t: len(counts[t][0]) for t in tags}, "pairs": {}}
    print(f"prompts per tag: {result['prompts']}")
    for a in tags:
        for b in tags:
            if a >= b:
                continue
            rows = []
            for layer in range(n_layers):
                js, null, p = permutation_test(counts[a][layer], counts[b][layer], args.perms, rng)
                rows.append({"layer": layer, "js": js, "null_mean_js": null, "p": p})
            result["pairs"][f"{a}/{b}"] = rows
            print(f"{a:>12s} vs {b:<12s} " + "  ".join(
                f"L{r['layer']}: JS {r['js']:.3f} (null {r['null_mean_js']:.3f}, p {r['p']:.4f})" for r in rows))
    print("per-layer expert shares (pooled over each tag's prompts):")
    for layer in range(n_layers):
        for t in tags:
            print(f"  L{layer} {t:>12s} " + " ".join(f"{x:.2f}" for x in pooled(counts[t][layer])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
