#!/usr/bin/env bash
# The CUDA engine's checks on a GPU machine, in one command: `moescope bench` on the synthetic
# shapes with the path before issue 16, the first round's, the default and any next candidates
# (NEXT_FLAGS) side by side, the full Mixtral-8x7B (32 layers), GPU tests (golden
# models, router, observer, errors, fused attention, the new kernels), the prefill paths not yet the
# default (--grouped-prefill, --flash-prefill) beside it at prefill 2048, compute-sanitizer memcheck on
# golden runs, and with NCU_SECONDS > 0 Nsight Compute kernel tables of the default decode path.
# Ends with the figures of every path (decode and prefill-2048 ms with instrumentation off and full,
# overhead, floor fraction), the paths side by side, and the golden errors. Logs go to
# $OUT (default /tmp/moescope-gpu-check). Time bounds: BENCH_SECONDS each bench run (default 200),
# TESTS_SECONDS the test binary (900), MEMCHECK_SECONDS memcheck (300), NCU_SECONDS each ncu run (0).
#
# Three ways to get binaries:
#   tools/gpu_check.sh build [all|tests|bench]    configure + build here (needs the Debian dev packages)
#   tools/gpu_check.sh carried [all|tests|bench]  use binaries staged by `stage` on a build machine (for
#                                                 GPU machines without the dev packages)
#   tools/gpu_check.sh stage [dir]                copy build-gpu binaries + their non-system libraries,
#                                                 compressed, into dir (default .devshared; run on the
#                                                 build machine)
# A carried run takes its payload from the folder this script sits in when that folder holds one
# (a copy of the script beside its payload in any checkout), else from <checkout>/.devshared. The
# build tree's absolute paths are compiled into the tests, so a carried run links the build's
# checkout path (recorded by `stage`) to the checkout it runs in when they differ.
set -uo pipefail
mode=${1:-build}
what=${2:-all}
here=$(cd "$(dirname "$0")" && pwd)
if [ -e "$here/payload.tar.xz" ] && [ "$mode" = carried ]; then
  root=$(cd "$here/.." && pwd)
  payload=$here
else
  root=$(cd "$here/.." && pwd)
  payload=$root/.devshared
fi
out=${OUT:-/tmp/moescope-gpu-check}
mkdir -p "$out"
cd "$root"

# One Nsight Compute CSV (gpu__time_duration.sum per launch) as a table: kernels by total time,
# with their share, launch count and mean.
ncu_kernel_table() {
  python3 - "$1" <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 14]
head = rows[0] if rows else []
if "Kernel Name" not in head:
    sys.exit(print(sys.argv[1] + ": no ncu table"))
k, v = head.index("Kernel Name"), head.index("Metric Value")
total, count = collections.Counter(), collections.Counter()
for r in rows[1:]:
    name = r[k].replace("(anonymous namespace)::", "").replace("<unnamed>::", "").replace("moescope::gpu::", "").replace("void ", "").split("(")[0]
    total[name] += float(r[v].replace(",", "")) / 1e3
    count[name] += 1
all_us = sum(total.values())
print(f"{sys.argv[1]}: {sum(count.values())} kernels, {all_us:.1f} us in all (ncu, serialized)")
for name, us in total.most_common(14):
    print(f"{100 * us / all_us:5.1f}% {us:10.1f} us {count[name]:5d}x avg {us / count[name]:8.2f} us  {name[:90]}")
PY
}

if [ "$mode" = stage ]; then
  dest=$(mkdir -p "${2:-.devshared}" && cd "${2:-.devshared}" && pwd)
  rm -rf "$dest/bin" "$dest/lib"
  mkdir -p "$dest/bin" "$dest/lib"
  cp build-gpu/app/moescope build-gpu/tests/moescope_gpu_tests "$dest/bin/"
  echo "$root" > "$dest/bin/build_root"
  # Libraries the GPU machine's image may lack (CUDA's own come from its toolkit).
  for lib in $(ldd build-gpu/app/moescope build-gpu/tests/moescope_gpu_tests | awk '/=>/ {print $3}' | sort -u); do
    case "$lib" in
      *libcuda*|*libcublas*|*libcudart*|*/libc.so*|*/libm.so*|*ld-linux*|*libpthread*|*libdl*|*librt*) ;;
      *) cp -L "$lib" "$dest/lib/" ;;
    esac
  done
  # Compressed: the device call's working tree is limited to 64 MiB.
  (cd "$dest" && tar -cf - bin lib | xz -T0 -6 > payload.tar.xz && rm -rf bin lib)
  du -sh "$dest"
  exit 0
fi

if [ "$mode" = build ]; then
  cmake -S . -B build-gpu -G Ninja -DMOESCOPE_GUI=OFF -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DMOESCOPE_GOLDEN_DIR="${MOESCOPE_GOLDEN_DIR:-$root/tests/fixtures/golden}" 2>&1 | tail -3 | tee "$out/configure.log"
  cmake --build build-gpu --target moescope moescope_gpu_tests -j"$(nproc)" 2>&1 | tail -20 | tee "$out/build.log"
elif [ "$mode" = carried ]; then
  (cd "$payload" && xz -dc payload.tar.xz | tar -xf -)
  build_root=$(cat "$payload/bin/build_root" 2>/dev/null || echo /work/main)
  if [ "$root" != "$build_root" ] && [ ! -e "$build_root" ]; then
    mkdir -p "$(dirname "$build_root")" && ln -s "$root" "$build_root"
  fi
  echo "payload: $payload (built in $build_root), checkout: $root"
  mkdir -p build-gpu/app build-gpu/tests
  cp "$payload/bin/moescope" build-gpu/app/
  cp "$payload/bin/moescope_gpu_tests" build-gpu/tests/
  cublas_dir=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)")
  export LD_LIBRARY_PATH="$payload/lib:/usr/local/cuda/lib64:${cublas_dir}:${LD_LIBRARY_PATH:-}"
  echo "cuBLAS from: $cublas_dir"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.mem --format=csv | tee "$out/nvidia-smi.txt"
status=0
# old: before issue 16; round1: issue 16's first round (fast kernels, device capture); new: the
# default; next: paths not yet the default (NEXT_FLAGS, default --fast-merge --warp-topk), benched beside it
# until a run shows them right and faster.
round2_off="--no-fused-experts --no-context-splits --no-fused-routing --no-pdl"
old_flags="--no-fast-kernels --no-device-capture $round2_off"
round1_flags="$round2_off"
next_flags="${NEXT_FLAGS---fast-merge --warp-topk}"
paths="old round1 new"
[ -n "$next_flags" ] && paths="$paths next"
# The benchmarks first: they are the figures still missing (docs/perf.md), and a device call that
# runs out of time inside compute-sanitizer would otherwise lose them, as one did.
if [ "$what" = all ] || [ "$what" = bench ]; then
  : > "$out/bench.log"
  # BENCH_SHAPES (';'-separated) replaces the list, e.g. to leave out the 93 GB Mixtral on a short call.
  IFS=';' read -r -a shapes <<< "${BENCH_SHAPES:-mixtral-8x7b --layers 8;deepseek-v2-lite;deepseek-v3 --layers 4;mixtral-8x7b}"
  for shape in "${shapes[@]}"; do
    for path in $paths; do
      flags=""
      [ "$path" = old ] && flags=$old_flags
      [ "$path" = round1 ] && flags=$round1_flags
      [ "$path" = next ] && flags=$next_flags
      echo "== moescope bench --synthetic $shape --prefill 2048 $flags # path=$path" | tee -a "$out/bench.log"
      # shellcheck disable=SC2086
      timeout "${BENCH_SECONDS:-200}" ./build-gpu/app/moescope bench --synthetic $shape --prefill 2048 $flags 2>&1 | tee -a "$out/bench.log"
    done
  done
fi
if [ "$what" = all ] || [ "$what" = tests ]; then
  timeout "${TESTS_SECONDS:-900}" ./build-gpu/tests/moescope_gpu_tests --gtest_color=no 2>&1 | tee "$out/gpu_tests.log" | grep -E "^\[ (golden|clock|  FAILED|  PASSED|  SKIPPED) |Failure|rel_err|Expected|Which is|error" | head -150
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  tail -3 "$out/gpu_tests.log"
  # memcheck: the new path's kernels and capture first, then every golden model's uncached pass,
  # prefill + graph-replayed decode and mixed steps, in-process only (a child `moescope` under the
  # sanitizer hung there once).
  timeout "${MEMCHECK_SECONDS:-300}" compute-sanitizer --tool memcheck --error-exitcode 3 ./build-gpu/tests/moescope_gpu_tests --gtest_color=no \
    --gtest_filter='FastKernels.*:CudaDeviceCapture.*:AllModels/CudaGolden.PlainKernels*:AllModels/CudaGolden.Uncached*:AllModels/CudaGolden.PrefillThenDecode*:AllModels/CudaGolden.Mixed*:AllModels/CudaGolden.FusedAttention*:AllModels/CudaGolden.SecondRound*:AllModels/CudaGolden.FirstRound*:AllModels/CudaGolden.FastMerge*:AllModels/CudaGolden.GroupedPrefill*:AllModels/CudaGolden.FlashPrefill*:AllModels/CudaGolden.WarpTopk*:FusedExperts.*:CudaRouter.*:*FlashPrefill.*:GroupedGemm.*:PrefillVectorised.*:CudaObserver.Emulated*' \
    > "$out/memcheck.log" 2>&1
  echo "memcheck exit $? (124 = stopped at MEMCHECK_SECONDS; $(grep -c '^\[       OK' "$out/memcheck.log") tests passed under it)" | tee "$out/memcheck_summary.txt"
  grep -E "ERROR SUMMARY|Invalid" "$out/memcheck.log" | head -10 | tee -a "$out/memcheck_summary.txt"
fi

# Issue 16's prefill paths, not yet the default: each PREFILL_SHAPES shape (';'-separated; default
# Mixtral-8L and DeepSeek-V2-Lite) at prefill 2048 on the default path, with --grouped-prefill,
# --flash-prefill, both, and both with --fast-prefill-kernels (PREFILL_FLAGS, ';'-separated, replaces
# that list), decode cut short (its figures are the paths above); median of 3 after 1 warm-up. About 6-10 s a run.
if [ "$what" = all ] || [ "$what" = bench ]; then
  : > "$out/bench_prefill.log"
  IFS=';' read -r -a pf_shapes <<< "${PREFILL_SHAPES:-mixtral-8x7b --layers 8;deepseek-v2-lite}"
  IFS=';' read -r -a pf_flags <<< "${PREFILL_FLAGS:-;--grouped-prefill;--flash-prefill;--grouped-prefill --flash-prefill;--grouped-prefill --flash-prefill --fast-prefill-kernels}"
  for shape in "${pf_shapes[@]}"; do
    for flags in "${pf_flags[@]}"; do
      echo "== moescope bench --synthetic $shape --prefill 2048 --decode-context 16 --decode-steps 4 --warmup 1 --repeats 3 $flags # prefill=${flags:-default}" | tee -a "$out/bench_prefill.log"
      # shellcheck disable=SC2086
      timeout "${BENCH_SECONDS:-200}" ./build-gpu/app/moescope bench --synthetic $shape --prefill 2048 --decode-context 16 \
        --decode-steps 4 --warmup 1 --repeats 3 $flags 2>&1 | tee -a "$out/bench_prefill.log"
    done
  done
fi

# Kernel by kernel (NCU_SECONDS > 0, default off): Nsight Compute over the decode graph's kernels
# (the decode_step NVTX range) of the default path, summed by kernel name, as the 2026-12-04 tables.
if [ "${NCU_SECONDS:-0}" -gt 0 ] && { [ "$what" = all ] || [ "$what" = bench ]; }; then
  for shape in "deepseek-v2-lite" "mixtral-8x7b --layers 8"; do
    name=$(echo "$shape" | tr -c 'a-z0-9\n' '-' | sed 's/-*$//')
    # shellcheck disable=SC2086
    timeout "$NCU_SECONDS" ncu --clock-control none --nvtx --nvtx-include "decode_step/" --metrics gpu__time_duration.sum \
      --print-units base --csv --launch-count 600 ./build-gpu/app/moescope bench --synthetic $shape --prefill 16 --decode-steps 3 \
      --warmup 1 --repeats 1 > "$out/ncu-$name.csv" 2> "$out/ncu-$name.err"
    ncu_kernel_table "$out/ncu-$name.csv" | tee "$out/ncu-$name.txt"
  done
fi

# The prefill paths kernel by kernel (NCU_PREFILL_SECONDS > 0, default off): Nsight Compute over the
# attention and experts phases of DeepSeek-V2-Lite's 2048-token prefill with both new paths, to see
# whether cuBLAS runs a grouped GEMM as one kernel and what the flash kernel takes a layer.
if [ "${NCU_PREFILL_SECONDS:-0}" -gt 0 ] && { [ "$what" = all ] || [ "$what" = bench ]; }; then
  timeout "$NCU_PREFILL_SECONDS" ncu --clock-control none --nvtx --nvtx-include "attention/" --nvtx-include "experts/" \
    --metrics gpu__time_duration.sum --print-units base --csv --launch-count 300 ./build-gpu/app/moescope bench \
    --synthetic deepseek-v2-lite --prefill 2048 --decode-context 4 --decode-steps 1 --warmup 0 --repeats 1 \
    --grouped-prefill --flash-prefill > "$out/ncu-prefill-v2lite.csv" 2> "$out/ncu-prefill-v2lite.err"
  { grep -c 'gpu__time_duration.sum' "$out/ncu-prefill-v2lite.csv" | sed 's/^/ncu prefill rows: /'
    ncu_kernel_table "$out/ncu-prefill-v2lite.csv"
  } | tee "$out/ncu-prefill-v2lite.txt"
fi

# Issue 17: fp8 weights kept as fp8 (DeepSeek-V3 shape, fp8 bandwidth floor) and experts offloaded
# to pinned host memory (Mixtral-8x7B, 16 layers, under a 12 GB cap: hit rate, bytes/token, tokens/s,
# copy bandwidth against the measured pinned H2D bandwidth), then the same with next-layer prefetch
# (--offload-prefetch, written without a GPU: tokens/s and stall beside the plain line).
if [ "$what" = all ] || [ "$what" = bench ]; then
  : > "$out/bench17.log"
  for case in "deepseek-v3 --layers 8 --weights fp8 --prefill 512" \
              "mixtral-8x7b --layers 16 --gpu-memory-cap 12GB --offload-experts --prefill 64 --decode-steps 8 --repeats 1 --warmup 1" \
              "mixtral-8x7b --layers 16 --gpu-memory-cap 12GB --offload-experts --offload-prefetch --prefill 64 --decode-steps 8 --repeats 1 --warmup 1"; do
    echo "== moescope bench --synthetic $case" | tee -a "$out/bench17.log"
    # shellcheck disable=SC2086
    timeout "${BENCH_SECONDS:-200}" ./build-gpu/app/moescope bench --synthetic $case 2>&1 | tee -a "$out/bench17.log"
  done
fi

# One table: each shape's default (old) and new path, then the golden errors.
if [ -s "$out/bench.log" ]; then
  awk '
    /^== moescope bench/ { shape = $5 " " ($6 == "--layers" ? $7 "L" : "all"); path = substr($NF, 6) }
    /^prefill 2048/ { p_off = $3; p_full = $4; p_floor = $7 }
    /^decode ctx/ { printf "%-20s %-6s %10s %10s %9s %6s | %9s %9s %6s\n", shape, path, $4, $5, $6, $8, p_off, p_full, p_floor }
    /^bench:|rror/ { printf "%-20s %-6s %s\n", shape, path, $0 }
  ' "$out/bench.log" > "$out/table.txt"
  {
    echo
    echo "every path (ms; decode per token at batch 1, ctx 128; floor = hardware floor / full time):"
    printf "%-20s %-6s %10s %10s %9s %6s | %9s %9s %6s\n" shape path "dec off" "dec full" overhead floor "pf2048 off" "pf full" floor
    cat "$out/table.txt"
    echo
    echo "side by side, full instrumentation, ms (old: before issue 16, $old_flags; round1: issue 16's"
    echo "first round, $round1_flags; new: the default; next: the default with ${next_flags:-nothing})"
    printf "%-20s %9s %9s %9s %9s %8s | %9s %9s %9s %9s\n" shape "dec old" "dec rd1" "dec new" "dec next" "new/rd1" \
      "pf old" "pf rd1" "pf new" "pf next"
    # table.txt rows: shape (two words), path, dec off, dec full, overhead, floor, |, pf off, pf full, floor
    awk '$3 ~ /^(old|round1|new|next)$/ && $8 == "|" { s = $1 " " $2; dec[s ":" $3] = $5; pf[s ":" $3] = $10; if (!(s in seen)) { seen[s] = 1; order[n++] = s } }
      END { for (i = 0; i < n; ++i) { s = order[i]; r = dec[s ":round1"]; d = dec[s ":new"];
              printf "%-20s %9s %9s %9s %9s %7.1f%% | %9s %9s %9s %9s\n", s, dec[s ":old"], r, d, dec[s ":next"],
                (r > 0 && d > 0) ? (d / r - 1) * 100 : 0, pf[s ":old"], pf[s ":round1"], pf[s ":new"], pf[s ":next"] } }' "$out/table.txt"
  } | tee "$out/summary.txt"
fi
if [ -s "$out/bench_prefill.log" ]; then
  {
    echo
    echo "prefill 2048, ms off / full (issue 16's prefill paths, not yet the default; floor = floor / full time):"
    printf "%-20s %-34s %9s %9s %6s\n" shape path "pf off" "pf full" floor
    awk '/^== moescope bench/ { shape = $5 " " ($6 == "--layers" ? $7 "L" : "all"); split($0, p, "# prefill="); path = p[2] }
      /^prefill 2048/ { printf "%-20s %-34s %9s %9s %6s\n", shape, path, $3, $4, $7 }
      /^bench:|rror/ { printf "%-20s %-34s %s\n", shape, path, $0 }' "$out/bench_prefill.log"
  } | tee -a "$out/summary.txt"
fi
if [ -s "$out/bench17.log" ]; then
  { echo; echo "issue 17 (fp8 decode floor; offloaded decode):";
    grep -E "^== |^decode ctx|^offload|rror" "$out/bench17.log"; } | tee -a "$out/summary.txt"
fi
if [ -s "${out}/gpu_tests.log" ]; then
  { echo; echo "golden errors (logits rel err vs transformers' fp32 logits_full; bound = max(2x bf16 error, 2e-2)):";
    grep -E "^\[ golden" "$out/gpu_tests.log"; grep -E "^\[ (fp8|offload) " "$out/gpu_tests.log"; grep -E "tests ran|PASSED|FAILED" "$out/gpu_tests.log" | tail -4;
    cat "$out/memcheck_summary.txt" 2>/dev/null; } | tee -a "$out/summary.txt"
fi
echo "gpu_check: ${SECONDS} s on this machine" | tee -a "$out/summary.txt"
exit $status
