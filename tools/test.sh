#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs what is missing, builds (the CUDA
# engine too when nvcc is at /usr/local/cuda, so a broken kernel cannot land), runs every test.
# GPU tests skip, saying so, where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's start is printed with the seconds since the script began (CI has a time limit).
stage() { echo "== test.sh: $1 (at ${SECONDS} s)"; }
stage "dependencies"
sh tools/install_deps.sh
jobs=$(nproc)
build=build/release
stage "release build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$jobs"
stage "release tests"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 600

# ---- Sanitizer and fuzz stages (docs/reliability.md). Separate build folders, CPU only, -O1 with
# line tables only (-g1: enough for the sanitizers' stack traces, far cheaper to compile than -g), and
# only the targets they run, to keep CI on two cores well inside its time limit.
sanitizer_build() {  # folder, extra cmake options...
  local folder=$1
  shift
  cmake -S . -B "$folder" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
    -DMOESCOPE_CUDA=OFF -DMOESCOPE_GUI=OFF "$@"
}

# AddressSanitizer + UndefinedBehaviorSanitizer over the core, sessions and app tests (the app
# tests run the sanitized moescope binary). Any report fails the test that triggered it. Built
# with clang as the libFuzzer targets' build (MOESCOPE_FUZZ: ASan + UBSan, coverage counters,
# UB fatal), so one build serves both stages: that saved CI a whole build of core and sessions.
stage "ASan+UBSan build (clang; tests and fuzz targets)"
asan=build/asan
fuzz_targets="fuzz_safetensors_header fuzz_checkpoint_index fuzz_model_config fuzz_tokenizer_json
  fuzz_sentencepiece_model fuzz_session_reader fuzz_capture_json"
sanitizer_build "$asan" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMOESCOPE_FUZZ=ON
# shellcheck disable=SC2086
cmake --build "$asan" -j"$jobs" --target moescope moescope_core_tests moescope_sessions_tests moescope_app_tests \
  fuzz_make_seeds $fuzz_targets
stage "ASan+UBSan tests"
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$asan" --output-on-failure -j"$jobs" --timeout 1200 -L 'core|sessions|app'

# ThreadSanitizer over the recorder (engine thread -> queue -> writer thread), the CPU engine's
# worker pool, readers reading while a writer writes, and the GUI's live-run streaming (worker
# thread -> RunData the UI thread copies each frame; cancel; destroy mid-run), which is built
# without the GUI (moescope_ui_live) and driven headless by tests/ui_live.
stage "TSan build and tests"
tsan=build/tsan
sanitizer_build "$tsan" -DMOESCOPE_TSAN=ON
cmake --build "$tsan" -j"$jobs" --target moescope moescope_sessions_tests moescope_ui_live_tests
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$tsan" --output-on-failure -j"$jobs" --timeout 1200 -L 'sessions|ui_live' \
  -R 'RecorderRoundTrip|GoldenRecording|Load|Faults|RunControllerLive'

# Every libFuzzer target for ~10 s from its seeds, the binaries of the ASan stage (tools/fuzz.sh
# long for the long runs).
stage "fuzz smoke"
FUZZ_BUILD=$asan FUZZ_NO_BUILD=1 FUZZ_JOBS=$jobs bash tools/fuzz.sh smoke
stage "done"
