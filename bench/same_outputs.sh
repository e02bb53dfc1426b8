#!/usr/bin/env bash
# Behaviour check for refactors: runs one unlearn binary over a fixed set of commands and keeps
# what they write, with clock readings removed, so that two binaries can be compared file by
# file (`--compare A B`). Model files must match byte for byte; result JSONs must match once
# every key holding a time (*time_s, *_seconds, *_per_second, created, and in a manifest the
# digest of the result JSON, which holds them) is dropped; CSVs lose their time columns.
#
#   bench/same_outputs.sh run BIN OUT [--quick]   # run BIN's commands into OUT (a new folder)
#   bench/same_outputs.sh compare A B            # exit 1 on any difference
#
# The set: the main job (scripts/main-job.sh: AllCNN 0.25 on Fashion-MNIST, original, retrain,
# PSG and Boundary Shrink on class 0), unless --quick; and on the tests' tiny IDX data, PSG
# under every choice of its enum options, each baseline method, eval, compose, a bench and a
# sweep. Thread count 2 throughout: another count changes the last bits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

normalise() {  # FILE.json|FILE.csv -> the same without clock readings (JSON keys sorted)
  python3 - "$1" <<'PY'
import csv, json, re, sys
TIMED = re.compile(r"(time_s$|seconds|per_second|^created$|^log$)")
def strip(v, parent=""):
    if isinstance(v, dict):
        # A manifest's digest of the result JSON changes with the clock readings in it.
        return {k: strip(x, k) for k, x in v.items()
                if not TIMED.search(k) and not (parent == "report" and k == "sha256")}
    if isinstance(v, list):
        return [strip(x, parent) for x in v]
    return v
path = sys.argv[1]
if path.endswith(".csv"):
    rows = list(csv.reader(open(path)))
    keep = [i for i, name in enumerate(rows[0]) if not TIMED.search(name)] if rows else []
    for row in rows:
        print(",".join(row[i] for i in keep if i < len(row)))
else:
    print(json.dumps(strip(json.load(open(path))), indent=1, sort_keys=True))
PY
}

run() {
  local bin=$1 out=$2 quick=${3:-}
  [ -e "$out" ] && { echo "$out exists; give a new folder" >&2; exit 2; }
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  # Every run works in the same folder, with relative paths, so that paths recorded in results
  # are equal; the folder is then moved to OUT.
  local work=${TMPDIR:-/tmp}/unlearn-same-outputs
  rm -rf "$work"
  mkdir -p "$work" "$(dirname "$out")"
  out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
  export UNLEARN_CACHE_DIR="$work/cache" UNLEARN_REGISTRY="$work/registry.sqlite"
  local u=("$bin")
  local t=(--threads 2 --quiet)
  cd "$work"

  if [ "$quick" != "--quick" ]; then
    local recipe=(--data fashion-mnist --model allcnn --width 0.25 --epochs 3)
    "${u[@]}" train "${recipe[@]}" "${t[@]}" --out main-original.pt
    "${u[@]}" train "${recipe[@]}" "${t[@]}" --exclude 'class == 0' --out main-retrain.pt
    for method in psg boundary-shrink; do
      "${u[@]}" forget --model main-original.pt --data fashion-mnist --forget 'class == 0' \
        --method "$method" --retrain main-retrain.pt --out "main-$method.pt" \
        --report "main-$method.json" "${t[@]}"
    done
  fi

  mkdir -p tiny
  "$root/build/tests/make_tiny_idx" tiny >/dev/null
  local data="idx:tiny"
  local tiny=(--data "$data" --model small-cnn --width 0.5 --batch 8 --lr 0.02 --epochs 3)
  "${u[@]}" train "${tiny[@]}" "${t[@]}" --out orig.pt
  "${u[@]}" train "${tiny[@]}" "${t[@]}" --exclude 'class == 0' --out retr.pt
  local f=(--model orig.pt --data "$data" --forget 'class == 0' --retrain retr.pt "${t[@]}")
  local i=0
  while read -r name options; do
    [ -z "$name" ] && continue
    # shellcheck disable=SC2086
    "${u[@]}" forget "${f[@]}" --method "$name" $options --out "f$i.pt" --report "f$i.json"
    i=$((i + 1))
  done <<'RUNS'
psg --passes 2
psg --passes 2 --norm l2 --noise laplace --gamma 0.01 --inner-steps 3
psg --passes 2 --noise cauchy --search-stop none --search-reduction mean --inner-steps 2
psg --passes 2 --noise uniform --lambda 0.5 --lambda-schedule inverse
psg --passes 2 --lambda 0.5 --lambda-schedule exponential --lambda-rate 0.2
psg --passes 2 --lambda 0.5 --lambda-schedule linear --reference current
psg --passes 2 --label-mode soft --top-k 3 --temperature 2 --retain-target distill
psg --passes 2 --label-mode raw-logits --retain-target raw-logits --optimizer adam --lr 0.001
psg --passes 2 --bn-mode frozen --retain-weight 1
psg --passes 1 --bn-mode recalibrate --recalibrate-samples 50 --authors-exact
psg --preset authors --passes 1
boundary-shrink --passes 2
finetune
gradient-ascent
neggrad-plus
random-label
l1-sparse
boundary-expanding
salun
scrub
ssd
eu-k
cf-k
bad-teacher
retrain
RUNS
  "${u[@]}" eval --model f0.pt --data "$data" --forget 'class == 0' --original orig.pt \
    --retrain retr.pt --json "${t[@]}" >eval.json
  "${u[@]}" compose interpolate f0.pt f1.pt --data "$data" --forget 'class == 0' \
    --original orig.pt --retrain retr.pt --out comp.pt --report comp.json "${t[@]}"
  "${u[@]}" compose --search f0.pt f12.pt --data "$data" --forget 'class == 0' \
    --retrain retr.pt --out search.pt --report search.json --grid 3 "${t[@]}"
  cat >bench.yaml <<YAML
data: $data
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 2, batch: 16, lr: 0.05}
seeds: [0, 1]
scenarios:
  - {name: class0, forget: "class == 0"}
methods:
  - {method: psg, options: {lr: 0.05, passes: 1, batch: 8}}
  - finetune
YAML
  "${u[@]}" bench bench.yaml --out bench "${t[@]}" --no-report
  cat >sweep.yaml <<YAML
data: $data
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 2, batch: 16, lr: 0.05}
forget: "class == 0"
validation: 0.2
method: psg
options: {batch: 8}
space:
  lr: [0.01, 0.05]
YAML
  "${u[@]}" sweep sweep.yaml --out sweep "${t[@]}" --no-report
  rm -rf cache
  cd /
  mv "$work" "$out"
}

compare() {
  local a=$1 b=$2 bad=0
  while IFS= read -r rel; do
    if [ ! -e "$b/$rel" ]; then
      echo "only in $a: $rel"
      bad=1
    elif [[ $rel == *.json || $rel == *.csv ]]; then
      if ! diff <(normalise "$a/$rel") <(normalise "$b/$rel") >/dev/null; then
        echo "differs: $rel"
        diff <(normalise "$a/$rel") <(normalise "$b/$rel") | head -20 || true
        bad=1
      fi
    elif [[ $rel == *.pt ]]; then
      cmp -s "$a/$rel" "$b/$rel" || { echo "differs: $rel"; bad=1; }
    fi
  done < <(cd "$a" && find . -type f \( -name '*.json' -o -name '*.pt' -o -name '*.csv' \) |
    grep -v '/tiny/' | sort)
  local n
  n=$(cd "$a" && find . -type f \( -name '*.json' -o -name '*.pt' -o -name '*.csv' \) |
    grep -vc '/tiny/')
  if ((bad)); then echo "outputs differ"; return 1; fi
  echo "$n files compared: identical (JSON without clock readings, models byte for byte)"
}

case "${1:-}" in
  run) shift; run "$@" ;;
  compare) shift; compare "$@" ;;
  *) echo "usage: $0 run BIN OUT [--quick] | compare A B" >&2; exit 2 ;;
esac
