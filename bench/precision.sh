#!/usr/bin/env bash
# fp32 against bf16 autocast on the reference configuration (docs/performance.md): PSG with the
# authors' hyperparameters, phi 0, 10 passes, forgetting class 0, over several seeds. Prints the
# unlearning loop's time and FTA, RTA and MIA-efficacy per run, then mean and standard deviation
# per precision, so a change in the metrics can be set against seed noise.
#
#   bench/precision.sh [--out DIR] [--threads N] [--seeds "0 1 2"] [--passes P]
#
# Reuses the original that bench/e2e.sh trains (DIR/original.pt), training it if missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/build/e2e"
threads="$(nproc)"
seeds="0 1 2"
passes=10
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    *) echo "precision.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
unlearn="$root/build/unlearn"
[ -x "$unlearn" ] || { echo "precision.sh: $unlearn not found; run scripts/build.sh" >&2; exit 1; }
mkdir -p "$out/precision"
original="$out/original.pt"
source "$here/common.sh"  # wait_quiet, ensure_original
ensure_original "$unlearn" "$original" "$threads"

for seed in $seeds; do
  for precision in fp32 bf16; do
    name="$precision-s$seed"
    echo "precision: $name (load $(wait_quiet) before)" >&2
    "$unlearn" forget --model "$original" --forget 'class == 0' --method psg --preset authors \
      --retain-weight 0 --passes "$passes" --input-size 32 --precision "$precision" \
      --seed "$seed" --method-seed "$seed" --threads "$threads" --quiet --no-cache \
      --no-registry --no-report --force --out "$out/precision/$name.pt" \
      --report "$out/precision/$name.json" >/dev/null
  done
done

/usr/bin/python3 - "$out/precision" "$seeds" <<'PY'
import json, os, statistics, sys
d, seeds = sys.argv[1], sys.argv[2].split()
keys = ("FTA", "RTA", "MIA_efficacy")
print("| precision | seed | loop (s) | FTA | RTA | MIA-efficacy |")
print("| --- | --- | --- | --- | --- | --- |")
values = {}
for p in ("fp32", "bf16"):
    for s in seeds:
        r = json.load(open(os.path.join(d, f"{p}-s{s}.json")))
        m = r["models"]["unlearned"]["metrics"]
        loop = r["method"]["summary"]["loop_seconds"]
        values.setdefault(p, []).append([loop] + [m[k] for k in keys])
        print(f"| {p} | {s} | {loop:.1f} | " + " | ".join(f"{m[k]:.2f}" for k in keys) + " |")
print()
print("| precision | loop (s) | FTA | RTA | MIA-efficacy |")
print("| --- | --- | --- | --- | --- |")
for p, rows in values.items():
    cols = list(zip(*rows))
    cell = lambda c: (f"{statistics.mean(c):.2f} ± {statistics.stdev(c):.2f}" if len(c) > 1
                      else f"{c[0]:.2f}")
    print(f"| {p} | " + " | ".join(cell(c) for c in cols) + " |")
PY
