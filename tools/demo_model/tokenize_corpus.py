#!/usr/bin/env python3
"""Tokenize the corpus (make_corpus.py's JSONL) with the trained tokenizer into tokens.npz, so
training needs only numpy and torch (the GPU machine has no sentencepiece).

Per domain and split: `<domain>.<split>.ids` (int32, documents as <s> ids </s> back to back) and
`<domain>.<split>.starts` (int64, offset of each document's <s>).
"""
import argparse
import json
import os

import numpy as np
import sentencepiece as spm

DOMAINS = ("code", "prose", "multi", "maths", "verse")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True, help="the .npz file to write")
    args = ap.parse_args()
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    if (sp.bos_id(), sp.eos_id()) != (1, 2):
        raise SystemExit(f"error: {args.tokenizer}: <s>/</s> ids are {sp.bos_id()}/{sp.eos_id()}, expected 1/2")
    arrays = {"vocab_size": np.asarray(sp.vocab_size())}
    for name in DOMAINS:
        for split in ("train", "valid"):
            path = os.path.join(args.corpus, f"{name}.{split}.jsonl")
            if not os.path.exists(path):
                raise SystemExit(f"error: {path} missing; run make_corpus.py first")
            stream, starts = [], []
            with open(path, encoding="utf-8") as f:
                for line in f:
                    starts.append(len(stream))
                    stream += [sp.bos_id()] + sp.encode(json.loads(line)["text"]) + [sp.eos_id()]
            arrays[f"{name}.{split}.ids"] = np.asarray(stream, dtype=np.int32)
            arrays[f"{name}.{split}.starts"] = np.asarray(starts, dtype=np.int64)
            print(f"{name:6s} {split:5s} {len(starts):6d} docs {len(stream):9d} tokens")
    np.savez_compressed(args.out, **arrays)


if __name__ == "__main__":
    main()
