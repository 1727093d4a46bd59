#!/usr/bin/env bash
# gpu17: Nsight Compute kernel table of the fp8 decode graph (DeepSeek-V3 shape, 8 layers).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${OUT:-/tmp/out17}
mkdir -p "$out"
cd "$root"
(cd "$here" && xz -dc payload.tar.xz | tar -xf -)
mkdir -p build-gpu/app
cp "$here/bin/moescope" build-gpu/app/
cublas_dir=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '*/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${cublas_dir}:${LD_LIBRARY_PATH:-}"
timeout "${T_NCU:-120}" ncu --clock-control none --nvtx --nvtx-include "decode_step/" --metrics gpu__time_duration.sum \
  --print-units base --csv --launch-count 400 ./build-gpu/app/moescope bench --synthetic deepseek-v3 --layers 8 \
  --weights fp8 --prefill 16 --decode-steps 2 --warmup 1 --repeats 1 > "$out/ncu-fp8.csv" 2> "$out/ncu-fp8.err"
echo "ncu exit $?"
python3 - "$out/ncu-fp8.csv" <<'PY' | tee "$out/ncu-fp8.txt"
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
for name, us in total.most_common(16):
    print(f"{100 * us / all_us:5.1f}% {us:10.1f} us {count[name]:5d}x avg {us / count[name]:8.2f} us  {name}")
PY
tail -5 "$out/ncu-fp8.err"
