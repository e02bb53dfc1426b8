# shellcheck shell=bash
# Sourced by scripts/test-sanitized.sh and scripts/fuzz.sh: the one sanitized build both use.
# clang 14 with AddressSanitizer and UndefinedBehaviorSanitizer everywhere, and libFuzzer's
# coverage hooks (fuzzer-no-link) in every object, so the same library serves the unit tests,
# the tool under the CLI tests and the libFuzzer targets. Optimised (RelWithDebInfo), because the
# CLI tests train models. Debian's LibTorch is not instrumented, so leak detection is off.

# configure_sanitized_build ROOT BUILD_DIR
configure_sanitized_build() {
  command -v clang++ >/dev/null ||
    { echo "the sanitized build needs clang++ (scripts/setup.sh installs it)" >&2; exit 1; }
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DUNLEARN_FUZZ=ON \
    -DUNLEARN_BUILD_BENCH=OFF >/dev/null
}

export ASAN_OPTIONS=detect_leaks=0
# OpenMP threads sleep while they wait instead of spinning (see tests/cli/lib.sh).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
