#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine: installs what is missing, builds, and opens the app
# on the bundled demo model. With no display it records the demo prompt sets with the CLI instead
# and prints the code-vs-verse comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
jobs=$(nproc)
build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$jobs" --target moescope
bin="$build/app/moescope"
demo=assets/models/demo-moe
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin" gui --model "$demo"
fi
db="${MOESCOPE_DEMO_DB:-$build/demo-session.moescope}"
rm -f "$db" "$db-wal" "$db-shm"
for set in assets/prompts/*.jsonl; do
  "$bin" record --model "$demo" --prompts "$set" --db "$db"
done
"$bin" report --db "$db"
"$bin" compare --db "$db" --tags code,verse
