#!/usr/bin/env bash
# The second sweep of issue #20's classes 2, 3, 7 and 8 with variants the tests in tests/app and
# tests/core do not use: other special files (/dev/urandom, /dev/full, /dev/stdin on a pipe, a
# folder, a socket, a loop of links, a /proc file) in every file role, other backtracking regex
# patterns, and other spellings of NaN, infinity and out-of-range numbers for every checked flag.
#   tests/sweep/input_sweep.sh BINARY [GOLDEN_DIR]
# Each command runs under `timeout`; the sweep fails on a hang (timeout), a crash (a signal exit),
# a refusal that exits 0, or an error that is not one line starting "moescope: error:" where the
# binary writes its own errors. It prints one line per case and a summary.
set -uo pipefail

binary=${1:?usage: input_sweep.sh BINARY [GOLDEN_DIR]}
golden=${2:-$(cd "$(dirname "$0")/../fixtures/golden" && pwd)}
model_src=$golden/models/mixtral-tiny
[ -x "$binary" ] || { echo "input_sweep.sh: $binary is not an executable" >&2; exit 2; }
[ -d "$model_src" ] || { echo "input_sweep.sh: no golden model at $model_src" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/moescope-sweep.XXXXXX")
socket_pid=
cleanup() {
  [ -n "$socket_pid" ] && kill "$socket_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

limit=${SWEEP_TIMEOUT:-60}
failures=0
cases=0

# check EXPECT NAME STDIN_FILE ONE_LINE ARGS...: the command must end by itself (not a timeout,
# not a signal) and print no raw control bytes. EXPECT=refusal: a non-zero exit, and with
# ONE_LINE=1 exactly one line starting "moescope: error:" (CLI11's own flag errors add a "Run with
# --help" line, so ONE_LINE=0 there). EXPECT=either: exit 0 is fine too (a hostile regex may finish
# within its budget on some text); an error must still be one clear line.
check() {
  local expect=$1 name=$2 input=$3 one_line=$4
  shift 4
  cases=$((cases + 1))
  local log=$work/log.$cases rc
  timeout "$limit" "$@" <"$input" >"$log" 2>&1
  rc=$?
  local verdict=ok
  if [ "$rc" -eq 124 ]; then verdict="HANG (no answer in ${limit} s)"
  elif [ "$rc" -ge 128 ]; then verdict="CRASH (signal $((rc - 128)))"
  elif [ "$rc" -eq 0 ] && [ "$expect" = refusal ]; then verdict="ACCEPTED (exit 0 where a refusal was expected)"
  elif [ "$rc" -ne 0 ] && [ "$one_line" = 1 ] && { [ "$(wc -l <"$log")" -ne 1 ] || ! head -c 17 "$log" | grep -q '^moescope: error: '; }; then
    verdict="UNCLEAR (not one 'moescope: error:' line)"
  elif LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$log"; then
    verdict="RAW CONTROL BYTES in the output"
  fi
  if [ "$verdict" = ok ]; then
    printf 'ok    %-58s exit %d: %s\n' "$name" "$rc" "$(head -c 150 "$log" | head -1)"
  else
    failures=$((failures + 1))
    printf 'FAIL  %-58s %s\n      %s\n' "$name" "$verdict" "$(head -c 300 "$log" | tr '\n' ' ')"
  fi
}

refuse() { check refusal "$@"; }

fresh_model() {  # a writable copy of the golden model in $work/$1
  rm -rf "${work:?}/$1"
  cp -r "$model_src" "$work/$1"
  chmod -R u+w "$work/$1"
  echo "$work/$1"
}

# ---- special files ------------------------------------------------------------------------------
mkdir -p "$work/a-folder"
ln -s "$work/loop-b" "$work/loop-a"
ln -s "$work/loop-a" "$work/loop-b"
if command -v python3 >/dev/null; then
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); time.sleep(3600)' "$work/a-socket" &
  socket_pid=$!
  for _ in $(seq 100); do [ -S "$work/a-socket" ] && break; sleep 0.2; done
fi
specials=(/dev/urandom /dev/full "$work/a-folder" "$work/loop-a" /proc/self/status)
if [ -S "$work/a-socket" ]; then
  specials+=("$work/a-socket")
else
  echo "note: no socket could be made (python3 is missing or slow): the socket variant is skipped"
fi

printf 'hello\n' >"$work/hello.txt"
for special in "${specials[@]}"; do
  label=$(basename "$special")
  for role in config.json tokenizer.model model.safetensors; do
    dir=$(fresh_model "m-$label-$role")
    rm -f "$dir/$role"
    ln -s "$special" "$dir/$role"
    refuse "$role -> $label: run" /dev/null 1 \
      "$binary" run --no-record --max-new-tokens 1 --model "$dir" --prompt hi
  done
  refuse "--prompts $label" /dev/null 1 "$binary" record --model "$model_src" --prompts "$special" --db "$work/s-$label.db"
  refuse "--db $label (report)" /dev/null 1 "$binary" report --db "$special"
  refuse "--db $label (run)" /dev/null 1 "$binary" run --max-new-tokens 1 --model "$model_src" --prompt hi --db "$special"
  refuse "tokenize --tokenizer $label.json" "$work/hello.txt" 1 "$binary" tokenize --tokenizer "$special"
done
# /dev/stdin on a pipe that never ends, as a prompt set: a FIFO, refused without reading it.
cases=$((cases + 1))
yes '{"text": "x"}' | timeout "$limit" "$binary" record --model "$model_src" --prompts /dev/stdin --db "$work/s-stdin.db" >"$work/log.stdin" 2>&1
rc=${PIPESTATUS[1]}
if [ "$rc" -ge 1 ] && [ "$rc" -lt 124 ] && grep -q 'is a FIFO' "$work/log.stdin"; then
  printf 'ok    %-58s exit %d: %s\n' "--prompts /dev/stdin from an endless pipe" "$rc" "$(head -1 "$work/log.stdin")"
else
  failures=$((failures + 1))
  printf 'FAIL  %-58s exit %d: %s\n' "--prompts /dev/stdin from an endless pipe" "$rc" "$(head -c 300 "$work/log.stdin")"
fi
# tokenize's stdin: an endless device is capped.
refuse "tokenize < /dev/urandom (capped)" /dev/urandom 1 "$binary" tokenize --model "$model_src"

# ---- regex patterns in tokenizer.json -----------------------------------------------------------
head -c 10000 /dev/zero | tr '\0' a >"$work/a10k.txt"
{ head -c 5000 /dev/zero | tr '\0' x; printf ' '; } >"$work/x5k.txt"
patterns=('(\\w|\\w\\w){1,14}\\s|\\w' '(?:a|a)+?b|a' '(x+x+)+y|x' 'a(?=.*z)|a' '(a|ab|aba)*c|a' '((a?){12}a{12})+b|a')
i=0
for pattern in "${patterns[@]}"; do
  i=$((i + 1))
  mkdir -p "$work/tok$i"
  printf '{"model": {"type": "BPE", "vocab": {"a": 0, "x": 1, " ": 2}, "merges": []},
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "%s"}, "behavior": "Isolated", "invert": false}}' \
    "$pattern" >"$work/tok$i/tokenizer.json"
  for text in a10k.txt x5k.txt; do
    check either "Split $pattern on $text" "$work/$text" 1 "$binary" tokenize --tokenizer "$work/tok$i/tokenizer.json"
  done
done

# ---- terminal escapes in what is printed --------------------------------------------------------
esc_dir=$(fresh_model esc)
printf '{"text": "hi", "tag": "\\u001b[31mred\\u001b]8;;http://x\\u0007\\u009b1m\\u202e"}\n' >"$esc_dir/p.jsonl"
check either "record a prompt with an escape-laden tag" /dev/null 1 \
  "$binary" record --max-new-tokens 1 --model "$esc_dir" --prompts "$esc_dir/p.jsonl" --db "$work/esc.db"
check either "report --run 1 of that run" /dev/null 1 "$binary" report --db "$work/esc.db" --run 1
cases=$((cases + 1))
timeout "$limit" "$binary" report --db "$work/esc.db" >"$work/log.esc" 2>&1
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]\|\xe2\x80\xae' "$work/log.esc"; then
  failures=$((failures + 1)); printf 'FAIL  %-58s raw escape bytes printed\n' "report listing an escape-laden tag"
else
  printf 'ok    %-58s %s\n' "report listing an escape-laden tag" "$(sed -n 3p "$work/log.esc")"
fi
refuse "error naming a path with an OSC sequence" /dev/null 1 "$binary" report --db "$work/$(printf 'x\033]2;owned\007y').db"

# ---- flags -------------------------------------------------------------------------------------
run_flags() {  # run_flags NAME FLAGS...: a run on the golden model that must be refused
  local name=$1
  shift
  refuse "run $name" /dev/null 0 "$binary" run --max-new-tokens 1 --model "$model_src" --prompt hi --db "$work/flags.db" "$@"
}
for value in nan NAN +nan 'nan(0x1)' -inf Infinity 1e400 0x1p9999 -0x1p9999 '1e-400x' '0,5'; do
  run_flags "--temperature '$value'" --temperature "$value"
  run_flags "--top-p '$value'" --top-p "$value"
  run_flags "--enforce-capacity '$value'" --enforce-capacity "$value"
done
for value in -5 -9223372036854775808 18446744073709551617 9223372036854775808 1e2 0b1; do
  run_flags "--seed $value" --seed "$value"
done
for value in 1000 4294967297 0x100 -2 2.5; do
  run_flags "--threads $value" --threads "$value"
done
for value in -1 1e6 2000000 0x10; do
  run_flags "--max-new-tokens $value" --max-new-tokens "$value"
done
for value in 0 -0 -9223372036854775808 nan 1.0; do
  refuse "report --run $value" /dev/null 0 "$binary" report --db "$work/esc.db" --run "$value"
  refuse "export --run $value" /dev/null 0 "$binary" export --db "$work/esc.db" --format csv --out "$work/csv-$value" --run "$value"
done
for value in 0,0 -1,1 1,9223372036854775808 ' 1,2' 1,2,3; do
  refuse "compare --runs '$value'" /dev/null 1 "$binary" compare --db "$work/esc.db" --runs "$value"
done
if [ -e "$work/flags.db" ]; then
  failures=$((failures + 1)); echo "FAIL  a refused run still created its session file"
fi
ctx_dir=$(fresh_model ctx)
sed -i 's/"max_position_embeddings": *[0-9]*/"max_position_embeddings": 12/' "$ctx_dir/config.json"
refuse "run --max-new-tokens 12 on a 12-token context" /dev/null 1 \
  "$binary" run --max-new-tokens 12 --model "$ctx_dir" --prompt hi --db "$work/ctx.db"
refuse "record --max-new-tokens 40 on a 12-token context" /dev/null 1 \
  "$binary" record --max-new-tokens 40 --model "$ctx_dir" --prompts "$esc_dir/p.jsonl" --db "$work/ctx.db"

echo "input_sweep: $cases cases, $failures failed"
[ "$failures" -eq 0 ]
