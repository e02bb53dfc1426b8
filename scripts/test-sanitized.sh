#!/usr/bin/env bash
# Builds every unit-test area (tests/unit/*/ gives one test_<area> binary each) and the fuzz-corpus
# replay with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/ (or the folder
# given), and runs them once. With --cli it also builds the tool and its test helpers sanitized
# and runs every CLI test (ctest -L cli) on them, so that a memory error anywhere on the tool's
# own paths fails; that takes about as long again, and CI does not run it yet (docs/results.md,
# issue 22). Debian's LibTorch is not instrumented, so leak detection is off.
#
#   scripts/test-sanitized.sh [--cli] [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
with_cli=0
if [ "${1:-}" = "--cli" ]; then
  with_cli=1
  shift
fi
build=${1:-"$root/build-asan"}
areas=()
for dir in "$root"/tests/unit/*/; do
  areas+=("test_$(basename "$dir")")
done
targets=("${areas[@]}" fuzz_replay)
((with_cli)) && targets+=(unlearn make_tiny_idx make_bad_models model_diff model_logits)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DUNLEARN_SANITIZE=ON \
  -DUNLEARN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build/tests"  # some tests read fixtures relative to the test folder, as under ctest
for area in "${areas[@]}"; do
  echo "== $area"
  "./$area" --gtest_brief=1
done
for corpus in "$root"/tests/fuzz/corpus/*/; do
  ./fuzz_replay "$(basename "$corpus")" "$corpus"
done
if ((with_cli)); then
  echo "== CLI tests (tests/cli) on the sanitized tool"
  cd "$build"
  ctest --output-on-failure -L cli -j "$(nproc 2>/dev/null || echo 2)"
fi
