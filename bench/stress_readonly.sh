#!/usr/bin/env bash
# Stress for the read-only subcommands (issue 22): repeats each of `inspect MODEL`, `inspect DATA`,
# `eval`, `verify` and `history` N times on one set of files made once (the tests' tiny IDX data,
# a small-cnn, one PSG run with its manifest and registry row) and counts the runs that ended in a
# signal. A crash that strikes one run in a few hundred (the `inspect` crash of issue 22 struck 3
# in 150) shows here and not in a test that runs the command once.
#
#   bench/stress_readonly.sh [--repeat N] [--jobs J] [--build DIR]
#
# N defaults to 1000 and J (runs at once) to the core count. Prints one row per subcommand:
# runs, exit 0, other exit codes, signals and wall seconds; exits 1 when any run ended in a
# signal or failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
repeat=1000
jobs=$(nproc 2>/dev/null || echo 2)
build="$root/build"
while (($#)); do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--jobs J] [--build DIR]" >&2; exit 2 ;;
  esac
done
unlearn="$build/unlearn"
[ -x "$unlearn" ] && [ -x "$build/tests/make_tiny_idx" ] ||
  { echo "stress: build first (scripts/build.sh): $unlearn or make_tiny_idx is missing" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export UNLEARN_CACHE_DIR="$work/cache" UNLEARN_REGISTRY="$work/registry.sqlite"
mkdir "$work/data" && "$build/tests/make_tiny_idx" "$work/data" >/dev/null
data="idx:$work/data"
"$unlearn" train --data "$data" --model small-cnn --width 0.25 --epochs 1 --batch 16 --quiet \
  --out original.pt
"$unlearn" forget --model original.pt --data "$data" --forget 'class == 0' --passes 1 \
  --out psg.pt --quiet

# name|command, run with `sh -c` from $work; every one only reads.
commands=(
  "inspect-model|$unlearn inspect original.pt"
  "inspect-data|$unlearn inspect $data"
  "eval|$unlearn eval --model psg.pt --original original.pt --data $data --forget 'class == 0' --json"
  "verify|$unlearn verify psg.pt.manifest.json --quiet"
  "history|$unlearn history psg.pt"
)

printf '%-14s %6s %7s %11s %8s %9s\n' subcommand runs "exit 0" "other exit" signals seconds
bad=0
for entry in "${commands[@]}"; do
  name=${entry%%|*}
  command=${entry#*|}
  start=$(date +%s.%N)
  # One exit status per line; a status above 128 is a signal (128 + its number).
  seq "$repeat" | xargs -P "$jobs" -I{} sh -c "$command >/dev/null 2>>'$work/$name.err'; echo \$?" \
    >"$work/$name.codes" || true
  seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  read -r ok other signals < <(awk '{ if ($1 == 0) o++; else if ($1 > 128) s++; else x++ }
    END { print o + 0, x + 0, s + 0 }' "$work/$name.codes")
  printf '%-14s %6d %7d %11d %8d %9s\n' "$name" "$repeat" "$ok" "$other" "$signals" "$seconds"
  if ((other + signals > 0)); then
    bad=1
    sort "$work/$name.codes" | uniq -c | sed 's/^/    exit codes: /'
    head -3 "$work/$name.err" | sed 's/^/    /'
  fi
done
exit "$bad"
