#!/usr/bin/env bash
# Builds every unit-test area (tests/unit/*/ gives one test_<area> binary each), the fuzz-corpus
# replay and the tool itself with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/
# (or $1) at -O2, and runs them once: the unit tests, the corpus replay, and every CLI test
# (ctest -L cli), so that a memory error anywhere on the tool's own paths fails. Debian's
# LibTorch is not instrumented, so leak detection is off.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-asan"}
areas=()
for dir in "$root"/tests/unit/*/; do
  areas+=("test_$(basename "$dir")")
done
# RelWithDebInfo: the CLI tests train and unlearn, and at -O0 they ran past their time limits.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNLEARN_SANITIZE=ON \
  -DUNLEARN_BUILD_BENCH=OFF >/dev/null
cli_tools=(unlearn make_tiny_idx make_bad_models model_diff model_logits)
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${areas[@]}" fuzz_replay \
  "${cli_tools[@]}"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build/tests"  # some tests read fixtures relative to the test folder, as under ctest
for area in "${areas[@]}"; do
  echo "== $area"
  "./$area" --gtest_brief=1
done
for corpus in "$root"/tests/fuzz/corpus/*/; do
  ./fuzz_replay "$(basename "$corpus")" "$corpus"
done
echo "== CLI tests (tests/cli) on the sanitized tool"
cd "$build"
ctest --output-on-failure -L cli -j "$(nproc 2>/dev/null || echo 2)"
