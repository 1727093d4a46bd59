#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what is missing, builds (the CUDA
# engine too when nvcc is at /usr/local/cuda, so a broken kernel cannot land), runs every test.
# GPU tests skip, saying so, where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
jobs=$(nproc)
build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 600
