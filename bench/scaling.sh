#!/usr/bin/env bash
# How PSG's unlearning time grows with the forget set and with the retain set
# (docs/performance.md): |D_f| at 1, 5, 10 and 20% of the training set (random selections), and
# at 10% the retain set handed to the method subsampled to 25, 50 and 100%. Passes are fixed,
# so the step count is proportional to |D_f|; phi = 0.5 so that the retain set is used.
#
#   bench/scaling.sh [--out DIR] [--threads N] [--passes P]
#
# Reuses the original that bench/e2e.sh trains (DIR/original.pt), training it if missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/build/e2e"
threads="$(nproc)"
passes=2
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    *) echo "scaling.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
unlearn="$root/build/unlearn"
[ -x "$unlearn" ] || { echo "scaling.sh: $unlearn not found; run scripts/build.sh" >&2; exit 1; }
mkdir -p "$out/scaling"
original="$out/original.pt"
source "$here/common.sh"  # wait_quiet, ensure_original
ensure_original "$unlearn" "$original" "$threads"

run() {  # run NAME FORGET_SHARE RETAIN_SHARE
  echo "scaling: $1 (load $(wait_quiet) before)" >&2
  "$unlearn" forget --model "$original" --forget "random($2, 7)" --method psg --preset authors \
    --retain-weight 0.5 --passes "$passes" --retain-share "$3" --threads "$threads" --quiet \
    --no-registry --force --out "$out/scaling/$1.pt" --report "$out/scaling/$1.json" >/dev/null
}
for f in 0.01 0.05 0.1 0.2; do run "forget$f" "$f" 1; done
for r in 0.25 0.5; do run "retain$r" 0.1 "$r"; done

/usr/bin/python3 - "$out/scaling" "$passes" <<'PY'
import json, os, sys
d, passes = sys.argv[1], sys.argv[2]
print(f"PSG (--preset authors --retain-weight 0.5 --passes {passes}); one forget and one retain "
      "batch of 64 per step")
print()
print("| run | D_f rows | D_r rows used | steps | loop (s) | ms per step |")
print("| --- | --- | --- | --- | --- | --- |")
names = [f"forget{f}" for f in ("0.01", "0.05", "0.1", "0.2")] + ["retain0.25", "retain0.5"]
for name in names:
    r = json.load(open(os.path.join(d, name + ".json")))
    s, data = r["method"]["summary"], r["data"]
    retain = data.get("n_retain_used", data["n_retain_train"])
    print(f"| {name} | {data['n_forget_train']} | {retain} | {s['steps']} "
          f"| {s['loop_seconds']:.1f} | {1000 * s['loop_seconds'] / s['steps']:.1f} |")
PY
