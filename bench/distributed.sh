#!/usr/bin/env bash
# One process against two data-parallel ranks on this machine (docs/distributed.md): training
# the reference AllCNN for one epoch, and PSG's reference unlearning run, at the same global
# batch of 64. One process uses every core; each of the two ranks gets half of them.
#
#   bench/distributed.sh [--out DIR] [--passes P]
#
# Reuses the original that bench/e2e.sh trains (DIR/original.pt), training it if missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/build/e2e"
passes=2
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    *) echo "distributed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
unlearn="$root/build/unlearn"
[ -x "$unlearn" ] || { echo "distributed.sh: $unlearn not found; run scripts/build.sh" >&2; exit 1; }
mkdir -p "$out/distributed"
original="$out/original.pt"
source "$here/common.sh"  # wait_quiet, ensure_original
cores="$(nproc)"
ensure_original "$unlearn" "$original" "$cores"

timed() {  # timed NAME COMMAND...: wall seconds of COMMAND into DIR/distributed/NAME.time
  local name=$1 start end
  shift
  echo "distributed: $name (load $(wait_quiet) before)" >&2
  start=$(date +%s.%N)
  "$@" >"$out/distributed/$name.log" 2>&1
  end=$(date +%s.%N)
  echo "$start $end" | awk '{ printf "%.1f\n", $2 - $1 }' >"$out/distributed/$name.time"
}
train=(train --data fashion-mnist --model allcnn --width 0.25 --input-size 32 --normalize 0.5,0.5
       --epochs 1 --quiet --no-registry --force)
forget=(forget --model "$original" --forget "class == 0" --method psg --preset authors
        --passes "$passes" --quiet --no-registry --force --no-report)
d="$out/distributed"
timed train-1 "$unlearn" "${train[@]}" --batch 64 --threads "$cores" --out "$d/train-1.pt"
timed train-2 "$unlearn" launch -n 2 -- "${train[@]}" --batch 32 --out "$d/train-2.pt"
timed forget-1 "$unlearn" "${forget[@]}" --batch 64 --threads "$cores" --out "$d/forget-1.pt" \
  --report "$d/forget-1.json"
timed forget-2 "$unlearn" launch -n 2 -- "${forget[@]}" --batch 32 --out "$d/forget-2.pt" \
  --report "$d/forget-2.json"

/usr/bin/python3 - "$d" "$cores" <<'PY'
import json, os, sys
d, cores = sys.argv[1], int(sys.argv[2])
t = lambda n: float(open(os.path.join(d, n + ".time")).read())
print(f"| run | processes x threads | wall (s) | loop (s) | FTA | RTA |")
print("| --- | --- | --- | --- | --- | --- |")
for name, layout in (("train-1", f"1 x {cores}"), ("train-2", f"2 x {max(1, cores // 2)}")):
    print(f"| train, 1 epoch, global batch 64 | {layout} | {t(name):.1f} | | | |")
for name, layout in (("forget-1", f"1 x {cores}"), ("forget-2", f"2 x {max(1, cores // 2)}")):
    r = json.load(open(os.path.join(d, name + ".json")))
    m = r["models"]["unlearned"]["metrics"]
    loop = r["method"]["summary"]["loop_seconds"]
    print(f"| PSG, global batch 64 | {layout} | {t(name):.1f} | {loop:.1f} "
          f"| {m['FTA']:.2f} | {m['RTA']:.2f} |")
PY
