#!/bin/sh
# Train the demo model's SentencePiece tokenizer with Debian's spm_train, the way Mistral's was
# built: BPE, byte fallback, digits split, no normalisation, whitespace kept, <unk>=0 <s>=1 </s>=2.
# Usage: train_tokenizer.sh CORPUS_DIR OUT_PREFIX [VOCAB_SIZE]
set -eu
corpus=$1
prefix=$2
vocab=${3:-4096}
nice spm_train \
  --input="$corpus/spm_input.txt" \
  --model_prefix="$prefix" \
  --model_type=bpe \
  --vocab_size="$vocab" \
  --byte_fallback=true \
  --split_digits=true \
  --character_coverage=0.9995 \
  --normalization_rule_name=identity \
  --remove_extra_whitespaces=false \
  --allow_whitespace_only_pieces=true \
  --add_dummy_prefix=true \
  --max_sentence_length=8192 \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --num_threads=2 \
  --minloglevel=1
