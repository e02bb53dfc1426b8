#!/usr/bin/env bash
# Builds the parsers' tests (data readers, selection expressions) and the fuzz-corpus replay
# with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ and runs them. Debian's LibTorch is not
# instrumented, so leak detection is off.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DUNLEARN_SANITIZE=ON \
  -DUNLEARN_BUILD_BENCH=OFF >/dev/null
cmake --build "$root/build-asan" -j "$(nproc 2>/dev/null || echo 2)" --target test_data test_select fuzz_replay
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$root/build-asan/tests/test_data"
"$root/build-asan/tests/test_select"
for corpus in "$root"/tests/fuzz/corpus/*/; do
  "$root/build-asan/tests/fuzz_replay" "$(basename "$corpus")" "$corpus"
done
