#!/usr/bin/env bash
# gpu17 (issue 17): the fp8 and offload GPU tests, then the two benches, from the staged payload.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${OUT:-/tmp/out17}
mkdir -p "$out"
cd "$root"
(cd "$here" && xz -dc payload.tar.xz | tar -xf -)
build_root=$(cat "$here/bin/build_root")
if [ "$root" != "$build_root" ] && [ ! -e "$build_root" ]; then
  mkdir -p "$(dirname "$build_root")" && ln -s "$root" "$build_root"
fi
mkdir -p build-gpu/app build-gpu/tests
cp "$here/bin/moescope" build-gpu/app/
cp "$here/bin/moescope_gpu_tests" build-gpu/tests/
cublas_dir=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${cublas_dir}:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$out/nvidia-smi.txt"
free -g | tee "$out/free.txt"
t0=$(date +%s)
timeout "${T_TESTS:-120}" ./build-gpu/tests/moescope_gpu_tests --gtest_color=no \
  --gtest_filter='*CudaFp8*:*CudaOffload*:MemoryBudget*' > "$out/tests17.log" 2>&1
echo "tests exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$out/tests17.log"
grep -E "^\[ (fp8|offload) |FAILED|Failure|Expected|Which is|rel_err|PASSED|error" "$out/tests17.log" | head -80
t0=$(date +%s)
timeout "${T_MEMCHECK:-60}" compute-sanitizer --tool memcheck --error-exitcode 3 ./build-gpu/tests/moescope_gpu_tests \
  --gtest_color=no --gtest_filter='AllModels/CudaFp8.*/deepseek_v3_tiny:AllModels/CudaFp8.PrefillThenDecode*/mixtral_tiny:AllModels/CudaOffload.*/mixtral_tiny:AllModels/CudaOffload.OneSlot*/deepseek_v3_tiny:CudaOffloadFp8.*' \
  > "$out/memcheck17.log" 2>&1
echo "memcheck exit $? in $(( $(date +%s) - t0 )) s; $(grep -c '^\[       OK' "$out/memcheck17.log") tests passed under it" | tee -a "$out/memcheck17.log"
grep -E "ERROR SUMMARY|Invalid|FAILED" "$out/memcheck17.log" | head -10
t0=$(date +%s)
timeout "${T_FP8:-100}" ./build-gpu/app/moescope bench --synthetic deepseek-v3 --layers 8 --weights fp8 --prefill 512 \
  --decode-steps 16 --repeats 2 --warmup 1 > "$out/bench-fp8.log" 2>&1
echo "fp8 bench exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$out/bench-fp8.log"
cat "$out/bench-fp8.log"
[ "${T_OFF:-150}" -gt 0 ] || exit 0
t0=$(date +%s)
timeout "${T_OFF:-150}" ./build-gpu/app/moescope bench --synthetic mixtral-8x7b --layers 16 --gpu-memory-cap 12GB \
  --offload-experts --prefill 64 --decode-steps 8 --repeats 1 --warmup 1 > "$out/bench-offload.log" 2>&1
echo "offload bench exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$out/bench-offload.log"
cat "$out/bench-offload.log"
