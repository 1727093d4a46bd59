#!/usr/bin/env python3
"""A synthetic SGLang capture for measuring `moescope import` at scale (docs/perf.md): N responses
in the format of --enable-return-routed-experts (docs/import.md), one JSON line each, routing drawn
from a fixed seed with a skew so loads differ. Plain Python, written to stdout.

    python3 tools/import/make_synthetic_capture.py --requests 100000 --config config.json > capture.jsonl
"""
import argparse
import base64
import json
import random
import struct
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100000)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--generated-tokens", type=int, default=8)
    parser.add_argument("--config", required=True, help="the model's config.json (layers, experts, top-k)")
    args = parser.parse_args()
    config = json.load(open(args.config))
    layers = config["num_hidden_layers"]
    k = config["num_experts_per_tok"]
    experts = config.get("n_routed_experts") or config.get("num_local_experts") or config.get("num_experts")
    vocab = config["vocab_size"]
    rng = random.Random(1)
    # A pool of distinct top-k rows to draw from keeps generation fast; the skew makes loads differ.
    pool = [rng.sample(range(experts), k) for _ in range(4096)]
    weights = [1.0 / (1 + i % experts) for i in range(len(pool))]
    n = args.prompt_tokens + args.generated_tokens - 1
    out = sys.stdout
    for r in range(args.requests):
        rows = rng.choices(pool, weights, k=n * layers)
        ids = [e for row in rows for e in row]
        prompt = [rng.randrange(vocab) for _ in range(args.prompt_tokens)]
        output = [rng.randrange(vocab) for _ in range(args.generated_tokens)]
        out.write(json.dumps({
            "text": "", "input_ids": prompt, "output_ids": output,
            "meta_info": {"id": "synthetic-%d" % r, "prompt_tokens": len(prompt), "completion_tokens": len(output),
                          "routed_experts": base64.b64encode(struct.pack("<%di" % len(ids), *ids)).decode("ascii")}},
            separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
