#!/usr/bin/env bash
# Bounded fuzzing, outside CI, of the data readers (IDX, npy, npz, CSV, DICOM), the selection
# parser and the model loader with libFuzzer (Debian's clang 14, AddressSanitizer and
# UndefinedBehaviorSanitizer). CI only replays tests/fuzz/corpus/. A crash, or an input that runs
# over 25 s (-timeout), is written to
# build-fuzz/crashes/<target>-*; once it is fixed, copy it into tests/fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(idx npy npz csv dicom selection selection_grammar model)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt install clang)" >&2; exit 1; }

build="$root/build-fuzz"
flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DUNLEARN_FUZZ=ON \
  -DUNLEARN_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/crashes"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  echo "fuzz.sh: $t for ${seconds}s"
  "$build/tests/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=25 \
    -artifact_prefix="$build/crashes/$t-" "$corpus" 2>"$build/fuzz-$t.log" ||
    { status=1; echo "fuzz.sh: $t found a problem; see $build/fuzz-$t.log" >&2; }
  tail -1 "$build/fuzz-$t.log"
done
exit "$status"
