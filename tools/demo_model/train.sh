#!/bin/sh
# Re-create the bundled demo MoE from scratch: corpus -> tokenizer -> tokens -> training -> assets.
#
#   tools/demo_model/train.sh            all stages (needs spm_train, python3-sentencepiece, python3-torch)
#   tools/demo_model/train.sh data       corpus, tokenizer and tokens.npz only
#   tools/demo_model/train.sh train      training only, from build-demo/tokens.npz (numpy + torch only;
#                                        this is what ran on the lent GPU machine, which has no sentencepiece)
#   tools/demo_model/train.sh publish    copy build-demo/run/model and its logs to assets/models/demo-moe and
#                                        measure its routing on assets/prompts (check_routing.py)
#
# Work files go to build-demo/ (ignored by git). Training picks CUDA when torch sees a GPU; on the
# shared 2-core CPU with Debian's torch (reference BLAS) it is far too slow to be practical.
# Extra arguments after the stage go to train.py (e.g. train.sh train --steps 500).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$root/build-demo
dest=$root/assets/models/demo-moe
# Debian's python3 holds python3-torch/numpy/sentencepiece; another python3 may come first in PATH.
if [ -x /usr/bin/python3 ]; then py=${PYTHON:-/usr/bin/python3}; else py=${PYTHON:-python3}; fi
stage=${1:-all}
[ $# -gt 0 ] && shift

data() {
  mkdir -p "$work"
  nice "$py" "$here/make_corpus.py" --out "$work/corpus"
  "$here/train_tokenizer.sh" "$work/corpus" "$work/tokenizer" 4096
  nice "$py" "$here/tokenize_corpus.py" --corpus "$work/corpus" --tokenizer "$work/tokenizer.model" \
    --out "$work/tokens.npz"
}

train() {
  nice "$py" "$here/train.py" --tokens "$work/tokens.npz" --tokenizer "$work/tokenizer.model" \
    --out "$work/run" "$@"
}

publish() {
  mkdir -p "$dest"
  cp "$work/run/model/config.json" "$work/run/model/model.safetensors" "$work/run/model/tokenizer.model" "$dest/"
  mkdir -p "$dest/training"
  cp "$work/run/train_log.csv" "$work/run/eval_log.csv" "$work/run/summary.json" "$dest/training/"
  cp "$work/corpus/stats.json" "$dest/training/corpus_stats.json"
  nice "$py" "$here/check_routing.py" "$dest" "$root/assets/prompts" --json "$dest/training/routing.json"
  nice "$py" "$here/check_routing.py" "$dest" "$root/assets/prompts" --random-init \
    --json "$dest/training/routing_random_init.json" >/dev/null
}

case $stage in
  all) data; train "$@"; publish ;;
  data) data ;;
  train) train "$@" ;;
  publish) publish ;;
  *) echo "train.sh: unknown stage '$stage' (expected all, data, train or publish)" >&2; exit 2 ;;
esac
