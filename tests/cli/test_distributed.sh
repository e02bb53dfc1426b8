#!/usr/bin/env bash
# Two ranks on loopback (docs/distributed.md): data-parallel training equals one process with
# the global batch, a distributed forget and sweep write what one process writes, a killed rank
# stops the other with an error naming it, and bad addresses fail at start.
#   test_distributed.sh UNLEARN MAKE_TINY MODEL_DIFF
source "$(dirname "$0")/lib.sh"
MODEL_DIFF=$3

# --- Equivalence: 1 process with batch 8 against 2 processes with batch 4 each. -------------
# At lr 0.01 two epochs stay out of the chaotic regime where float rounding alone grows.
recipe=(--data "$DATA" --model small-cnn --width 0.5 --epochs 2 --lr 0.01 --schedule constant
        --seed 3 --threads 1 --no-registry)
expect_exit 0 "train alone" -- "$UNLEARN" train "${recipe[@]}" --batch 8 --out one.pt
expect_exit 0 "train on 2 ranks, --sync-bn" -- \
  "$UNLEARN" launch -n 2 -- train "${recipe[@]}" --batch 4 --sync-bn --out two.pt
[ -f two.pt ] || fail "launch -n 2 -- train wrote no two.pt"
expect_exit 0 "train on 2 ranks, local batch norm" -- \
  "$UNLEARN" launch -n 2 -- train "${recipe[@]}" --batch 4 --out two-local.pt
same=$("$MODEL_DIFF" one.pt two.pt | cut -d' ' -f1)
apart=$("$MODEL_DIFF" one.pt two-local.pt | cut -d' ' -f1)
echo "max |one - two| = $same (--sync-bn), $apart (batch norm per rank)"
awk -v d="$same" 'BEGIN { exit !(d < 1e-4) }' ||
  fail "2 ranks x batch 4 with --sync-bn should match 1 x batch 8 (max diff $same)"
# The check can fail: per-rank batch statistics move the weights measurably.
awk -v d="$apart" 'BEGIN { exit !(d > 1e-3) }' ||
  fail "without --sync-bn the ranks normalise by their own halves; expected a visible difference, got $apart"

# --- A distributed forget: rank 0 alone writes the model, result and report. ---------------
expect_exit 0 "forget on 2 ranks" -- "$UNLEARN" launch -n 2 -- forget --model one.pt \
  --data "$DATA" --forget "class == 0" --method psg --batch 8 --passes 2 --threads 1 \
  --out f2.pt --report f2.json --no-registry
for f in f2.pt f2.json f2.html; do [ -f "$f" ] || fail "forget on 2 ranks did not write $f"; done
grep -q '"processes": 2' f2.json || fail "f2.json should record the 2 processes in env"
grep -q '"UA"' f2.json || fail "f2.json lacks the metrics"

# --- A killed rank: the other stops with an error naming it, within the timeout. -----------
start=$(date +%s)
"$UNLEARN" launch -n 2 --dist-timeout 20 -- train "${recipe[@]}" --batch 4 --epochs 400 \
  --out never.pt >killed.out 2>killed.err &
launcher=$!
victim=""
for _ in $(seq 1 100); do
  for pid in $(pgrep -P $launcher); do
    if tr '\0' '\n' </proc/$pid/environ 2>/dev/null | grep -qx 'RANK=1'; then victim=$pid; fi
  done
  [ -n "$victim" ] && grep -q 'train' killed.err killed.out 2>/dev/null && break
  sleep 0.2
done
sleep 2  # let the ranks reach their training loop
if [ -z "$victim" ]; then
  fail "could not find rank 1's process"
  kill $launcher
else
  kill -9 "$victim"
fi
wait $launcher
rc=$?
elapsed=$(($(date +%s) - start))
echo "killed rank 1: launch exited $rc after $elapsed s"
[ $rc -ne 0 ] || fail "launch should fail when a rank is killed"
grep -q 'rank 1 (pid .*) was killed by signal 9' killed.err ||
  { fail "launch should name the killed rank"; cat killed.err; }
grep -q 'lost rank 1' killed.err || { fail "rank 0 should name the lost rank 1"; cat killed.err; }
((elapsed < 60)) || fail "the survivors took $elapsed s to stop (timeout 20 s)"
[ ! -f never.pt ] || fail "a broken run must not write its model"

# --- Bad addresses fail at start, naming them. ---------------------------------------------
expect_exit 1 "unresolvable master" -- "$UNLEARN" train "${recipe[@]}" --batch 4 --out x.pt \
  --world-size 2 --rank 1 --master-addr no-such-host.invalid --master-port 29555 --dist-timeout 5
expect_stderr "unresolvable master" "no-such-host.invalid:29555"
expect_exit 2 "bad port" -- "$UNLEARN" train "${recipe[@]}" --batch 4 --out x.pt \
  --world-size 2 --rank 0 --master-port 70000
expect_stderr "bad port" "master-port"
expect_exit 2 "rank outside the world" -- "$UNLEARN" train "${recipe[@]}" --batch 4 --out x.pt \
  --world-size 2 --rank 2
expect_stderr "rank outside the world" "--rank (RANK)"
expect_exit 2 "launch without a command" -- "$UNLEARN" launch -n 2

# --- A distributed sweep: trials shared out, files gathered on rank 0, resumable. ----------
cat >sweep.yaml <<YAML
data: $DATA
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 2, batch: 16, lr: 0.05}
forget: "class == 0"
validation: 0.2
method: psg
options: {batch: 8}
space:
  lr: [0.01, 0.05]
  passes: [1, 2]
YAML
expect_exit 0 "sweep on 2 ranks" -- "$UNLEARN" launch -n 2 -- sweep sweep.yaml --out dsw --threads 1
for t in t000 t001 t002 t003; do
  [ -f "dsw/trials/$t/result.json" ] || fail "distributed sweep lacks dsw/trials/$t/result.json"
  [ -f "dsw/trials/$t/model.pt" ] || fail "distributed sweep lacks dsw/trials/$t/model.pt"
done
grep -q '4 trials run now, 0 failed' out.txt || { fail "rank 0 should report 4 trials"; cat out.txt; }
grep -q '(rank 1)' out.txt err.txt || fail "rank 1 should have run at least one trial"
[ -f dsw/sweep.json ] && [ -f dsw/report.html ] || fail "rank 0 should write sweep.json and report.html"
expect_exit 0 "sweep on 2 ranks, resumed" -- "$UNLEARN" launch -n 2 -- sweep sweep.yaml --out dsw --threads 1
grep -q '0 trials run now' out.txt || fail "a finished distributed sweep should run nothing again"
finish
