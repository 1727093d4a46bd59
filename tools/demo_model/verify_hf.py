#!/usr/bin/env python3
"""Check a checkpoint folder against Hugging Face transformers' own MixtralForCausalLM: it must
load with no missing or unexpected tensors, and its float32 logits and top-2 expert sets must
agree with model.py's on the same token ids. Needs `transformers` (present on the GPU machine).
Usage: verify_hf.py CHECKPOINT_DIR
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MixtralForCausalLM, load_safetensors  # noqa: E402


def main():
    ckpt = sys.argv[1]
    from transformers import MixtralForCausalLM as HFMixtral
    hf, info = HFMixtral.from_pretrained(ckpt, dtype=torch.float32, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    print("transformers loading info (empty lists = exact layout):", info)
    cfg = json.load(open(os.path.join(ckpt, "config.json")))
    ours = MixtralForCausalLM(cfg)
    ours.load_state_dict(load_safetensors(os.path.join(ckpt, "model.safetensors")), strict=True)
    hf.eval()
    ours.eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, cfg["vocab_size"], (2, 96), generator=g)
    ids[:, 0] = cfg["bos_token_id"]
    with torch.no_grad():
        out = hf(ids, output_router_logits=True)
        logits, router_logits, chosen = ours(ids)
    rel = ((logits - out.logits).norm() / out.logits.norm()).item()
    print(f"logits relative error ours vs transformers: {rel:.3e}")
    agree = total = 0
    for layer, (ref_rl, ch) in enumerate(zip(out.router_logits, chosen)):
        ref_rl = ref_rl.reshape(-1, ref_rl.shape[-1])
        ref_ch = torch.topk(torch.softmax(ref_rl.float(), -1), cfg["num_experts_per_tok"], -1).indices
        same = sum(set(a.tolist()) == set(b.tolist()) for a, b in zip(ref_ch, ch))
        agree += same
        total += len(ch)
        rrel = ((router_logits[layer] - ref_rl).norm() / ref_rl.norm()).item()
        print(f"layer {layer}: router logits rel err {rrel:.3e}, top-2 sets equal {same}/{len(ch)}")
    ok = not bad and rel < 1e-4 and agree == total
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
