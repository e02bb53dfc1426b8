#!/usr/bin/env bash
# Builds every unit-test area (tests/unit/*/ gives one test_<area> binary each) and the fuzz-corpus
# replay with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (or $1) and runs them
# once. Debian's LibTorch is not instrumented, so leak detection is off.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-asan"}
areas=()
for dir in "$root"/tests/unit/*/; do
  areas+=("test_$(basename "$dir")")
done
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DUNLEARN_SANITIZE=ON \
  -DUNLEARN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${areas[@]}" fuzz_replay
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build/tests"  # some tests read fixtures relative to the test folder, as under ctest
for area in "${areas[@]}"; do
  echo "== $area"
  "./$area" --gtest_brief=1
done
for corpus in "$root"/tests/fuzz/corpus/*/; do
  ./fuzz_replay "$(basename "$corpus")" "$corpus"
done
