#!/usr/bin/env bash
# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (CI runs it after
# scripts/test.sh). One sanitized build (scripts/sanitized-build.sh, clang) makes every unit-test
# area (tests/unit/*/ gives one test_<area> binary each), the tool and its test helpers, and the
# libFuzzer targets. Then, in order:
#   1. every unit-test binary, once;
#   2. every fuzz target over its saved inputs (tests/fuzz/corpus/<target>/), so each input that
#      once crashed stays fixed;
#   3. every CLI test (ctest -L cli) on the sanitized tool, so a memory error anywhere on the
#      tool's own paths fails;
#   4. a short fuzz pass: N inputs per target (default 2000; 0 skips it), mutated from the saved
#      ones with a fixed seed and, where the kernel allows, without address randomisation. That
#      makes most targets' passes repeat exactly (not all: two passes of selection_grammar here
#      differed), so a finding usually comes from a change of code. Longer campaigns:
#      scripts/fuzz.sh.
#
#   scripts/test-sanitized.sh [--fuzz-runs N] [BUILD_DIR]     (default: build-sanitized/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_runs=2000
if [ "${1:-}" = "--fuzz-runs" ]; then
  fuzz_runs=$2
  shift 2
fi
build=$(realpath -m "${1:-"$root/build-sanitized"}")
jobs=$(nproc 2>/dev/null || echo 2)

# shellcheck source=scripts/sanitized-build.sh
source "$root/scripts/sanitized-build.sh"
areas=()
for dir in "$root"/tests/unit/*/; do
  areas+=("test_$(basename "$dir")")
done
fuzz_targets=(idx npy npz csv dicom selection selection_grammar model)
configure_sanitized_build "$root" "$build"
cmake --build "$build" -j "$jobs" --target "${areas[@]}" "${fuzz_targets[@]/#/fuzz_}" \
  unlearn make_tiny_idx make_bad_models model_diff model_logits

cd "$build/tests"  # some tests read fixtures relative to the test folder, as under ctest
for area in "${areas[@]}"; do
  echo "== $area"
  "./$area" --gtest_brief=1
done

echo "== saved fuzz inputs"
for target in "${fuzz_targets[@]}"; do
  # -runs=0: run each saved input once, add nothing to the folder.
  "./fuzz_$target" -runs=0 "$root/tests/fuzz/corpus/$target" 2>"$build/replay-$target.log" ||
    { cat "$build/replay-$target.log" >&2; exit 1; }
  inputs=("$root/tests/fuzz/corpus/$target"/*)
  echo "$target: ${#inputs[@]} inputs replayed"
done

echo "== CLI tests (tests/cli) on the sanitized tool"
(cd "$build" && ctest --output-on-failure -L cli -j "$jobs")

if ((fuzz_runs > 0)); then
  echo "== fuzzing, $fuzz_runs inputs per target (seed 1)"
  cd "$build/tests"
  same_addresses=()
  setarch "$(uname -m)" -R true 2>/dev/null && same_addresses=(setarch "$(uname -m)" -R)
  for target in "${fuzz_targets[@]}"; do
    # A scratch copy: libFuzzer adds what it finds to the first folder it is given.
    scratch="$build/smoke-corpus/$target"
    rm -rf "$scratch" && mkdir -p "$scratch" "$build/crashes"
    cp "$root/tests/fuzz/corpus/$target/"* "$scratch/"
    "${same_addresses[@]}" "./fuzz_$target" -seed=1 -runs="$fuzz_runs" -timeout=25 -rss_limit_mb=4096 \
      -artifact_prefix="$build/crashes/smoke-$target-" "$scratch" 2>"$build/smoke-$target.log" ||
      { tail -40 "$build/smoke-$target.log" >&2; echo "fuzzing $target found a problem" >&2; exit 1; }
    echo "$target: $(grep -E '^(#[0-9]+|Done)' "$build/smoke-$target.log" | tail -1)"
  done
fi
