#!/usr/bin/env bash
# The CUDA engine's checks on a GPU machine, in one command: `moescope bench` on the three synthetic
# shapes (unfused, then fused prefill attention), GPU tests (golden models, router, observer,
# errors, fused attention), then compute-sanitizer memcheck on golden runs (MEMCHECK_SECONDS,
# default 300). Logs go to $OUT (default /tmp/moescope-gpu-check).
#
# Two ways to get binaries:
#   tools/gpu_check.sh build [all|tests|bench]    configure + build here (needs the Debian dev packages)
#   tools/gpu_check.sh carried [all|tests|bench]  use binaries staged by `tools/gpu_check.sh stage` on a
#                                                 build machine (for GPU machines without the dev packages)
#   tools/gpu_check.sh stage                      copy build-gpu binaries + their non-system libraries
#                                                 into .devshared/ (run on the build machine)
# The build tree's absolute paths are compiled into the tests, so a carried run links the checkout
# to /work/main when it lives elsewhere.
set -uo pipefail
mode=${1:-build}
what=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/moescope-gpu-check}
mkdir -p "$out"
cd "$root"

if [ "$mode" = stage ]; then
  rm -rf .devshared/bin .devshared/lib
  mkdir -p .devshared/bin .devshared/lib
  cp build-gpu/app/moescope build-gpu/tests/moescope_gpu_tests .devshared/bin/
  # Libraries the GPU machine's image may lack (CUDA's own come from its toolkit).
  for lib in $(ldd build-gpu/app/moescope build-gpu/tests/moescope_gpu_tests | awk '/=>/ {print $3}' | sort -u); do
    case "$lib" in
      *libcuda*|*libcublas*|*libcudart*|*/libc.so*|*/libm.so*|*ld-linux*|*libpthread*|*libdl*|*librt*) ;;
      *) cp -L "$lib" .devshared/lib/ ;;
    esac
  done
  # Compressed: the device call's working tree is limited to 64 MiB.
  (cd .devshared && tar -cf - bin lib | xz -T0 -6 > payload.tar.xz && rm -rf bin lib)
  du -sh .devshared
  exit 0
fi

if [ "$mode" = build ]; then
  cmake -S . -B build-gpu -G Ninja -DMOESCOPE_GUI=OFF -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DMOESCOPE_GOLDEN_DIR="${MOESCOPE_GOLDEN_DIR:-$root/tests/fixtures/golden}" 2>&1 | tail -3 | tee "$out/configure.log"
  cmake --build build-gpu --target moescope moescope_gpu_tests -j"$(nproc)" 2>&1 | tail -20 | tee "$out/build.log"
elif [ "$mode" = carried ]; then
  if [ "$root" != /work/main ] && [ ! -e /work/main ]; then mkdir -p /work && ln -s "$root" /work/main; fi
  (cd .devshared && xz -dc payload.tar.xz | tar -xf -)
  mkdir -p build-gpu/app build-gpu/tests
  cp .devshared/bin/moescope build-gpu/app/
  cp .devshared/bin/moescope_gpu_tests build-gpu/tests/
  cublas_dir=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)")
  export LD_LIBRARY_PATH="$root/.devshared/lib:/usr/local/cuda/lib64:${cublas_dir}:${LD_LIBRARY_PATH:-}"
  echo "cuBLAS from: $cublas_dir"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$out/nvidia-smi.txt"
status=0
# The benchmarks first: they are the figures still missing (docs/perf.md), and a device call that
# runs out of time inside compute-sanitizer would otherwise lose them, as one did.
if [ "$what" = all ] || [ "$what" = bench ]; then
  # Each shape with the unfused prefill attention (cuBLAS around a softmax kernel), then with the
  # fused kernel (--fused-attention), which becomes the default once it is checked and faster.
  for args in "--synthetic mixtral-8x7b --layers 8" "--synthetic deepseek-v2-lite" "--synthetic deepseek-v3 --layers 4" \
    "--synthetic mixtral-8x7b --layers 8 --fused-attention" "--synthetic deepseek-v2-lite --fused-attention" \
    "--synthetic deepseek-v3 --layers 4 --fused-attention"; do
    echo "== moescope bench $args" | tee -a "$out/bench.log"
    # shellcheck disable=SC2086
    timeout 200 ./build-gpu/app/moescope bench $args 2>&1 | tee -a "$out/bench.log"
  done
fi
if [ "$what" = all ] || [ "$what" = tests ]; then
  ./build-gpu/tests/moescope_gpu_tests --gtest_color=no 2>&1 | tee "$out/gpu_tests.log" | grep -E "^\[ (golden|  FAILED|  PASSED|  SKIPPED) |Failure|rel_err|Expected|Which is|error" | head -150
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  tail -3 "$out/gpu_tests.log"
  # memcheck: every golden model's uncached pass, prefill + graph-replayed decode and mixed steps,
  # in-process only (a child `moescope` under the sanitizer hung there once).
  timeout "${MEMCHECK_SECONDS:-300}" compute-sanitizer --tool memcheck --error-exitcode 3 ./build-gpu/tests/moescope_gpu_tests --gtest_color=no \
    --gtest_filter='AllModels/CudaGolden.Uncached*:AllModels/CudaGolden.PrefillThenDecode*:AllModels/CudaGolden.Mixed*:AllModels/CudaGolden.FusedAttention*:CudaRouter.*:FlashPrefill.*:CudaObserver.Emulated*' \
    > "$out/memcheck.log" 2>&1
  echo "memcheck exit $? ($(grep -c 'Invalid\|ERROR SUMMARY' "$out/memcheck.log") lines of note)"
  grep -E "ERROR SUMMARY|Invalid" "$out/memcheck.log" | head -10
fi
exit $status
