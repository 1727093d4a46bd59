#!/usr/bin/env python3
"""Converts SGLang expert-distribution dumps (per-token "detail" mode, `.pt`) to safetensors that
`moescope import --from sglang-dump` reads. Run it where SGLang runs (it needs torch and
safetensors, both already there); moescope itself never unpickles a `.pt`.

    python3 sglang_dump_to_safetensors.py expert_distribution_recorder_<time>_<rank>.pt out.safetensors

The dump is read with torch.load(weights_only=True), which refuses any pickled global other than
tensors and plain containers, so a hostile file cannot run code here either. What the dump holds
(SGLang's _DetailAccumulator.dump): {"records": [...], "last_physical_to_logical_map": [layers,
physical experts]}, each record one forward pass on one rank with forward_pass_id, rank,
input_ids (the pass's tokens) and topk_ids_of_layer [layers, tokens, top_k] of *physical* expert
ids. This writes, per pass i in forward_pass_id order, topk_ids.i (I32 [tokens, layers, top_k],
logical ids through the last physical-to-logical map) and input_ids.i (I32 [tokens]), with
metadata format = "moescope-sglang-dump/1", sglang_version and rank.
"""
import sys


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: sglang_dump_to_safetensors.py DUMP.pt OUT.safetensors")
    import torch
    from safetensors.torch import save_file

    dump = torch.load(argv[1], map_location="cpu", weights_only=True)
    if not isinstance(dump, dict) or "records" not in dump:
        sys.exit(f"{argv[1]}: not a per-token expert distribution dump (no 'records'; was the recorder "
                 "in detail/per_token mode?)")
    physical_to_logical = dump.get("last_physical_to_logical_map")
    records = sorted(dump["records"], key=lambda r: r["forward_pass_id"])
    ranks = sorted({int(r.get("rank", 0)) for r in records})
    if len(ranks) > 1:
        sys.exit(f"{argv[1]}: records of ranks {ranks}; convert one rank's dump per file")
    tensors = {}
    for i, record in enumerate(records):
        ids = record["topk_ids_of_layer"].to(torch.int64)  # [layers, tokens, top_k], physical
        if (ids < 0).any():
            sys.exit(f"{argv[1]}: forward pass {record['forward_pass_id']} has unfilled (-1) expert ids")
        if physical_to_logical is not None:
            table = physical_to_logical.to(torch.int64)  # [layers, physical experts]
            ids = torch.stack([table[layer][ids[layer]] for layer in range(ids.shape[0])])
        tensors[f"topk_ids.{i}"] = ids.permute(1, 0, 2).to(torch.int32).contiguous()
        tensors[f"input_ids.{i}"] = torch.as_tensor(record["input_ids"], dtype=torch.int32).contiguous()
    try:
        import sglang
        version = getattr(sglang, "__version__", "")
    except ImportError:
        version = ""
    save_file(tensors, argv[2], metadata={"format": "moescope-sglang-dump/1", "sglang_version": version,
                                          "rank": str(ranks[0] if ranks else 0)})
    print(f"wrote {argv[2]}: {len(records)} forward passes")


if __name__ == "__main__":
    main(sys.argv)
