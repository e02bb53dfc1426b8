#!/usr/bin/env bash
# Bounded fuzzing of the data readers (IDX, npy, npz, CSV, DICOM), the selection parser, the
# selection grammar generator and the model loader with libFuzzer (Debian's clang 14,
# AddressSanitizer and UndefinedBehaviorSanitizer). Each target runs until it has used
# SECONDS_PER_TARGET of CPU time (user + system, read from /proc, so a busy machine does not
# shorten the campaign), or four times that of wall time, whichever comes first. A crash, or an
# input that runs over FUZZ_TIMEOUT seconds of wall time (default 25; raise it when the fuzzers
# run at low priority beside other work, where a starved input looks slow), is written to
# BUILD/crashes/<target>-*; once it is fixed,
# copy it into tests/fuzz/corpus/<target>/. One line per target (CPU seconds, executions,
# coverage, corpus size, result) is appended to BUILD/fuzz-summary.tsv.
#
#   scripts/fuzz.sh [--build DIR] [SECONDS_PER_TARGET] [TARGET...]
#       (default: build-sanitized/, 60 s, every target)
#
# The build is the one scripts/test-sanitized.sh makes, so one compile serves both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-sanitized"
if [ "${1:-}" = "--build" ]; then
  build=$(realpath -m "$2")
  shift 2
fi
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(idx npy npz csv dicom selection selection_grammar model)

# shellcheck source=scripts/sanitized-build.sh
source "$root/scripts/sanitized-build.sh"
configure_sanitized_build "$root" "$build"
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# The CPU time, in whole seconds, that process $1 and its children have used so far: the dicom
# target reads through worker processes (core/isolated_worker), whose time counts too, the live
# ones from their own /proc entries, the ended ones in $1's cutime and cstime.
cpu_seconds_of() {
  local ticks=0 pid more
  for pid in "$1" $(cat "/proc/$1/task/"*/children 2>/dev/null); do
    more=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat" 2>/dev/null) || more=0
    ticks=$((ticks + more))
  done
  echo $((ticks / $(getconf CLK_TCK)))
}

# The number after label $1 in the text $2, or "?".
number_after() { grep -oE "$1 [0-9]+" <<<"$2" | grep -oE '[0-9]+$' || echo '?'; }

mkdir -p "$build/crashes"
summary="$build/fuzz-summary.tsv"
[ -s "$summary" ] ||
  printf 'date\ttarget\tcpu_s\twall_s\texecutions\tcov\tft\tcorpus\tresult\n' >"$summary"
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  log="$build/fuzz-$t.log"
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  echo "fuzz.sh: $t for ${seconds} CPU seconds"
  start=$(date +%s)
  "$build/tests/fuzz_$t" -max_total_time=$((seconds * 4)) -rss_limit_mb=4096 -timeout="${FUZZ_TIMEOUT:-25}" \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" "$corpus" 2>"$log" &
  pid=$!
  cpu=0
  while kill -0 "$pid" 2>/dev/null; do
    cpu=$(cpu_seconds_of "$pid")
    if ((cpu >= seconds)); then
      kill -INT "$pid"  # libFuzzer prints its final statistics and exits with 72
      break
    fi
    sleep 5
  done
  rc=0
  wait "$pid" || rc=$?
  wall=$(($(date +%s) - start))
  result=ok
  if ((rc != 0 && rc != 72)); then
    result="found a problem (exit $rc)"
    status=1
    echo "fuzz.sh: $t found a problem; see $log" >&2
  fi
  # The last status line reads "#N <event> cov: C ft: F corp: U/SIZE ...".
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  executions=$(grep -oE 'number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$cpu" "$wall" \
    "${executions:-?}" "$(number_after cov: "$last")" "$(number_after ft: "$last")" \
    "$(number_after corp: "$last")" "$result" \
    | tee -a "$summary"
done
exit "$status"
