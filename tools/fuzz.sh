#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: clang, -fsanitize=fuzzer,address,undefined) and runs
# each from its seed corpus (tests/fuzz/seeds/ plus seeds generated from tests/fixtures/golden).
#   tools/fuzz.sh smoke          each target ~10 s (CI: it checks that every target builds, runs
#                                its seeds and finds nothing quickly; the long runs find bugs)
#   tools/fuzz.sh long [RUNS [SECONDS]]  each target RUNS executions (default 10,000,000), or
#                                SECONDS when that comes first
#   tools/fuzz.sh time SECONDS   each target SECONDS
# Environment: FUZZ_TARGETS (names, default all seven), FUZZ_BUILD (build folder, default
# build/fuzz), FUZZ_JOBS (targets run at the same time, default 1), FUZZ_WORKERS (libFuzzer
# processes per target in long runs, sharing its corpus and RUNS, default 1), FUZZ_GOLDEN (golden fixtures, default
# tests/fixtures/golden; where absent, only the committed seeds and those already in $FUZZ_BUILD/seeds),
# FUZZ_NO_BUILD=1 (run the binaries already in $FUZZ_BUILD, e.g. copied to a bigger machine).
# Each target's log is $FUZZ_BUILD/logs/<target>.log, its growing corpus $FUZZ_BUILD/corpus/<target>/,
# and a crashing input lands in $FUZZ_BUILD/findings/<target>/; any finding makes the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-smoke}
case "$mode" in
  smoke) limit=(-max_total_time=10) ;;
  long) runs=${2:-10000000} seconds=${3:-0} limit=(-runs="$runs" -max_total_time="$seconds") ;;
  time) limit=(-max_total_time="${2:?tools/fuzz.sh time SECONDS}") ;;
  *) echo "fuzz.sh: unknown mode '$mode' (expected smoke, long or time)" >&2; exit 2 ;;
esac
# Long runs trade ASan's report detail for speed: no allocation/free stacks, no fill of fresh
# memory, a 32 MB quarantine (use-after-free is still caught while the freed block waits there)
# and no periodic release of free memory to the OS. Every check that finds a bug stays on; a
# finding is replayed with the default options for its full report. This made the tokenizer.json
# target 1.6x and the session reader 1.3x faster on the dev VM (docs/reliability.md). An
# ASAN_OPTIONS already set wins.
if [ "$mode" = long ] && [ -z "${ASAN_OPTIONS+x}" ]; then
  export ASAN_OPTIONS=malloc_context_size=0:max_malloc_fill_size=0:quarantine_size_mb=32:allocator_release_to_os_interval_ms=-1
fi

all_targets="fuzz_safetensors_header fuzz_checkpoint_index fuzz_model_config fuzz_tokenizer_json
  fuzz_sentencepiece_model fuzz_session_reader fuzz_capture_json"
targets=${FUZZ_TARGETS:-$all_targets}
build=${FUZZ_BUILD:-build/fuzz}
jobs=${FUZZ_JOBS:-1}
workers=${FUZZ_WORKERS:-1}
golden=${FUZZ_GOLDEN:-tests/fixtures/golden}

# -O1 keeps the build quick on small CI machines; the sanitizers do the checking.
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMOESCOPE_FUZZ=ON \
    -DMOESCOPE_CUDA=OFF -DMOESCOPE_GUI=OFF -DMOESCOPE_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build" -j"$(nproc)" --target fuzz_make_seeds $targets
fi

if [ -d "$golden/models" ]; then
  "$build/tests/fuzz/fuzz_make_seeds" "$golden" "$build/seeds"
else
  echo "fuzz.sh: no golden fixtures at $golden: running from the committed seeds only" >&2
fi
mkdir -p "$build/logs"

# The dictionary of each target (fuzz_<name> -> tests/fuzz/dictionaries/<name>.dict), when there is one.
dictionary() {
  local dict=tests/fuzz/dictionaries/${1#fuzz_}.dict
  [ "$1" = fuzz_sentencepiece_model ] || [ "$1" = fuzz_session_reader ] && return 0
  [ "$1" = fuzz_safetensors_header ] && dict=tests/fuzz/dictionaries/safetensors.dict
  [ -f "$dict" ] && echo "-dict=$dict"
  return 0
}

# The largest input libFuzzer may make for each target. The two slow targets' cost per input
# grows with its size (each is a whole tokenizer.json to parse and build, or a database to open and
# check), and libFuzzer's length control keeps raising its limit through a long run: the
# tokenizer.json rate fell from ~880 to ~500 executions/s per worker as its inputs grew from 13 to
# 17 KB (docs/reliability.md). Their caps sit above their largest seeds (9.9 KB tokenizer.json,
# 23 KB session), which already reach every component kind and every table.
max_len() {
  case "$1" in
    fuzz_tokenizer_json) echo 12288 ;;
    fuzz_session_reader) echo 32768 ;;
    *) echo 65536 ;;
  esac
}

# The most seconds one input may take before libFuzzer stops with a timeout-* finding (which fails
# the run, as a crash does): a slow input is a finding. A tokenizer.json input is bounded by the
# tokenizer's own limits (a 12 KB input's regex searches share a budget of ~0.9 M backtracking steps,
# under 1 s; core/tokenizer/onig_regex.h), so 10 s is far above any input that behaves; before
# that budget a backtracking Split pattern took 58 s on 10 KB. The other targets run each input
# through SQLite, protobuf or the filesystem and keep 20 s.
input_timeout() {
  case "$1" in
    fuzz_tokenizer_json) echo 10 ;;
    *) echo 20 ;;
  esac
}

# Long runs with FUZZ_WORKERS=N start N independent libFuzzer processes on the shared corpus, each
# taking its share of RUNS; each rereads the corpus folder now and then and so picks up what the
# others found. (libFuzzer's -fork mode restarts short jobs, each reloading part of the corpus: on
# the dev VM two forked jobs made 970 executions/s where one plain process made 1,100.) Worker 1
# logs to <target>.log, worker i to <target>.w<i>.log.
run_target() {
  local target=$1 corpus=$build/corpus/$1 findings=$build/findings/$1
  mkdir -p "$corpus" "$findings"
  for seeds in "tests/fuzz/seeds/$target" "$build/seeds/$target"; do
    [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  done
  local n=1 share=("${limit[@]}")
  if [ "$mode" = long ] && [ "$workers" -gt 1 ]; then
    n=$workers
    share=(-runs="$(((runs + n - 1) / n))" -max_total_time="$seconds")
  fi
  rm -f "$build/logs/$target".w*.log
  local pids=() i log failed=0
  for ((i = 1; i <= n; i++)); do
    log=$build/logs/$target.log
    [ "$i" -gt 1 ] && log=$build/logs/$target.w$i.log
    # 2 GiB per input is far above what a valid input needs; the time limit is input_timeout's.
    # shellcheck disable=SC2046
    "$build/tests/fuzz/$target" "$corpus" $(dictionary "$target") "${share[@]}" \
      -rss_limit_mb=2048 -timeout="$(input_timeout "$target")" -max_len="$(max_len "$target")" -print_final_stats=1 \
      -artifact_prefix="$findings/" >"$log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  return $failed
}

status=0
pids=()
names=()
for target in $targets; do
  run_target "$target" &
  pids+=($!)
  names+=("$target")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
printf '%-26s %12s %9s %8s %8s  %s\n' target executions seconds cov corpus result
for i in "${!pids[@]}"; do
  target=${names[$i]}
  result=ok
  wait "${pids[$i]}" || result="FAILED (see $build/logs/$target.log)"
  # Executions from each worker's closing "Done N runs in S second(s)", summed, and the longest
  # time; coverage and corpus size from worker 1's last status line.
  log=$build/logs/$target.log
  read -r execs secs < <(cat "$log" "$build/logs/$target".w*.log 2>/dev/null |
    grep -o 'Done [0-9]* runs in [0-9]* second' |
    awk '{n += $2; if ($5 > s) s = $5} END {print n + 0, s + 0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  # Crashes, leaks, timeouts and out-of-memory inputs fail the run; slow units are only reported.
  findings=$build/findings/$target
  if [ -n "$(find "$findings" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -print -quit)" ]; then
    result="FINDINGS in $findings"
  elif [ "$result" = ok ] && [ -n "$(find "$findings" -name 'slow-unit-*' -print -quit)" ]; then
    result="ok (slow units kept in $findings)"
  fi
  case "$result" in ok*) ;; *) status=1 ;; esac
  printf '%-26s %12s %9s %8s %8s  %s\n' "$target" "${execs:--}" "${secs:--}" "${cov:--}" "${corp:--}" "$result"
done
exit $status
