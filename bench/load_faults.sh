#!/usr/bin/env bash
# Load and faults (issue 22): N `forget` processes at once, sharing one output cache and one run
# registry, one of them killed with SIGKILL halfway. Then:
#   - every survivor exits 0, and its model file and result JSON (clock readings aside) are
#     byte-identical to the same run made alone, with a cache and registry of its own;
#   - the killed run left no file under its output name (half-written or otherwise);
#   - every output-cache entry loads whole (Python's torch.jit.load, the two logits tensors of the
#     right shapes; the JSON entries parse), and none is left under a temporary name by a
#     survivor;
#   - the registry passes SQLite's integrity check and holds exactly one row for each survivor
#     and none for the killed run.
#
#   bench/load_faults.sh UNLEARN DATA ORIGINAL [--procs N] [--forget-args "..."] [--work DIR]
#
# DATA is a --data source and ORIGINAL a model file trained on it. Run i forgets class
# (i mod classes) with `--method-seed i`, so runs differ and all share the original's cache
# entry. The CLI test tests/cli/test_load_faults.sh runs it on the tiny IDX data; the bigger
# run in docs/results.md uses Fashion-MNIST. Exit 1 on any failed check.
set -uo pipefail
unlearn=$1 data=$2 original=$3
shift 3
procs=8
forget_args="--passes 1"
work=""
while (($#)); do
  case "$1" in
    --procs) procs=$2; shift 2 ;;
    --forget-args) forget_args=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "usage: $0 UNLEARN DATA ORIGINAL [--procs N] [--forget-args ARGS] [--work DIR]" >&2
       exit 2 ;;
  esac
done
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
original=$(realpath "$original")
classes=$("$unlearn" inspect "$original" --json | /usr/bin/python3 -c \
  'import json, sys; print(json.load(sys.stdin)["num_classes"])')
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run_forget I FOLDER [ARGS]: forget run I with ARGS (default: --forget-args), writing run-I.pt
# and run-I.json in FOLDER (named relative to it, so that the command line in the result JSON is
# the same in every folder).
run_forget() {
  local i=$1 folder=$2 args=${3:-$forget_args}
  # shellcheck disable=SC2086  # args is a list of words
  (cd "$folder" && "$unlearn" forget --model "$original" --data "$data" \
    --forget "class == $((i % classes))" --method-seed "$i" $args --out "run-$i.pt" \
    --report "run-$i.json" --quiet 2>"run-$i.err")
}

# Each run alone, with a cache and registry of its own: the reference outputs.
mkdir -p "$work/alone" "$work/shared"
start=$(date +%s.%N)
for ((i = 0; i < procs; i++)); do
  UNLEARN_CACHE_DIR="$work/alone/cache-$i" UNLEARN_REGISTRY="$work/alone/registry-$i.sqlite" \
    run_forget "$i" "$work/alone" || fail "run $i alone: exit $?: $(head -3 "$work/alone/run-$i.err")"
done
alone_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" -v n="$procs" \
  'BEGIN { printf "%.2f", (e - s) / n }')

# All at once, sharing one cache and one registry; the last one is killed halfway.
export UNLEARN_CACHE_DIR="$work/shared/cache" UNLEARN_REGISTRY="$work/shared/registry.sqlite"
victim=$((procs - 1))
pids=()
start=$(date +%s.%N)
for ((i = 0; i < procs; i++)); do
  if ((i == victim)); then
    # The victim runs PSG (the default method) for 1000 passes without its stop rule, so that it is surely mid-run
    # when the others end.
    run_forget "$i" "$work/shared" "--passes 1000 --target-forget-acc -1" &
  else
    run_forget "$i" "$work/shared" &
  fi
  pids+=($!)
done
# The others take about N / cores times as long as one alone; the victim dies halfway through.
kill_after=$(awk -v a="$alone_seconds" -v n="$procs" -v c="$(nproc)" \
  'BEGIN { printf "%.2f", a * n / c / 2 }')
sleep "$kill_after"
if kill -0 "${pids[$victim]}" 2>/dev/null; then
  kill -KILL "${pids[$victim]}"
  killed=1
else
  killed=0
  fail "run $victim ended before it was killed at ${kill_after}s; give it more work"
fi
for ((i = 0; i < procs; i++)); do
  wait "${pids[$i]}" 2>/dev/null  # bash would print "Killed" for the victim
  rc=$?
  if ((i == victim)); then
    ((!killed || rc == 137)) || fail "the killed run $i: exit $rc, expected 137 (SIGKILL)"
  elif ((rc != 0)); then
    fail "run $i under load: exit $rc: $(head -3 "$work/shared/run-$i.err")"
  fi
done
shared_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

# Survivors: byte-identical model files, and result JSONs equal without their clock readings.
identical=0
for ((i = 0; i < procs; i++)); do
  ((i == victim)) && continue
  if ! cmp -s "$work/alone/run-$i.pt" "$work/shared/run-$i.pt"; then
    fail "run $i: its model file differs from the run alone"
    continue
  fi
  if ! /usr/bin/python3 - "$work/alone/run-$i.json" "$work/shared/run-$i.json" <<'PY'; then
import json, re, sys
TIMED = re.compile(r"(time_s$|seconds|per_second|^created$|^log$)")
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not TIMED.search(k)}
    return [strip(x) for x in v] if isinstance(v, list) else v
a, b = (strip(json.load(open(p))) for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
    fail "run $i: its result JSON differs from the run alone (clock readings aside)"
    continue
  fi
  identical=$((identical + 1))
done

# The killed run: nothing under its output names.
for f in "$work/shared/run-$victim.pt" "$work/shared/run-$victim.json"; do
  [ -e "$f" ] && ((killed)) && fail "the killed run left $f"
done

# The cache: every entry whole; temporary files only from the killed run (at most its own).
cache_report=$(/usr/bin/python3 - "$UNLEARN_CACHE_DIR" <<'PY'
import glob, json, os, sys
import torch
folder = sys.argv[1]
whole = broken = temporary = 0
for path in sorted(glob.glob(os.path.join(folder, "*"))):
    name = os.path.basename(path)
    try:
        if name.endswith(".pt"):
            tensors = list(torch.jit.load(path).state_dict().values())
            ok = len(tensors) == 2 and all(t.dim() == 2 for t in tensors)
        elif name.endswith(".json"):
            json.load(open(path))
            ok = True
        else:
            temporary += 1
            continue
    except Exception:
        ok = False
    whole += ok
    broken += not ok
print(whole, broken, temporary)
PY
)
read -r cache_whole cache_broken cache_temporary <<<"$cache_report"
((cache_broken == 0)) || fail "$cache_broken output-cache entries do not load"
((cache_temporary <= killed)) || fail "$cache_temporary temporary files in the cache"

# The registry: intact, one row per survivor, none for the killed run.
registry_report=$(/usr/bin/python3 - "$UNLEARN_REGISTRY" "$work/shared" "$victim" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
check = db.execute("PRAGMA integrity_check").fetchone()[0]
rows = {}
for (path,) in db.execute("SELECT model_path FROM runs"):
    if os.path.basename(path).startswith("run-"):
        rows[path] = rows.get(path, 0) + 1
print(check.replace(" ", "_"), len(rows), max(rows.values(), default=0),
      sum(1 for v in rows if os.path.basename(v) == f"run-{sys.argv[3]}.pt"))
PY
)
read -r integrity runs_recorded most_rows victim_rows <<<"$registry_report"
[ "$integrity" = ok ] || fail "the registry's integrity check says: $integrity"
((runs_recorded == procs - 1)) || fail "the registry records $runs_recorded runs, expected $((procs - 1))"
((most_rows == 1)) || fail "a run has $most_rows rows in the registry"
((victim_rows == 0)) || fail "the killed run has a row in the registry"

echo "load-and-fault: $procs forget runs at once (one alone: ${alone_seconds}s; all: ${shared_seconds}s;" \
  "run $victim killed at ${kill_after}s)"
echo "  survivors identical to their run alone: $identical of $((procs - 1))"
echo "  cache entries whole: $cache_whole, broken: $cache_broken, temporary files: $cache_temporary"
echo "  registry: integrity $integrity, runs recorded $runs_recorded, rows for the killed run $victim_rows"
if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
