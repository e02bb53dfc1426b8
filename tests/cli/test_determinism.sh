#!/usr/bin/env bash
# Same seed and thread count, same bytes; a run killed with SIGKILL and resumed from its
# checkpoint ends with the bytes of an unbroken run.
source "$(dirname "$0")/lib.sh"
common=(--data "$DATA" --model small-cnn --width 0.5 --batch 8 --lr 0.02 --threads 2 --quiet
  --no-registry)

# Determinism: train, forget and compose twice each.
expect_exit 0 "train a" -- "$UNLEARN" train "${common[@]}" --epochs 3 --out a.pt
expect_exit 0 "train b" -- "$UNLEARN" train "${common[@]}" --epochs 3 --out b.pt
cmp -s a.pt b.pt || fail "two trainings with the same seed and threads differ in their bytes"
expect_exit 0 "train another seed" -- "$UNLEARN" train "${common[@]}" --epochs 3 --seed 5 \
  --out c.pt
cmp -s a.pt c.pt && fail "a different seed gave the same bytes: the check above proves nothing"
for run in 1 2; do
  expect_exit 0 "forget $run" -- "$UNLEARN" forget --model a.pt --data "$DATA" \
    --forget 'class == 0' --retain-weight 0.5 --passes 2 --threads 2 --no-registry --quiet \
    --out "psg$run.pt"
done
cmp -s psg1.pt psg2.pt || fail "two psg runs with the same seed and threads differ in their bytes"
for run in 1 2; do
  expect_exit 0 "forget finetune $run" -- "$UNLEARN" forget --model a.pt --data "$DATA" \
    --forget 'class == 0' --method finetune --threads 2 --no-registry --quiet --out "ft$run.pt"
done
cmp -s ft1.pt ft2.pt || fail "two finetune runs with the same seed and threads differ"

# Resume: an unbroken run with checkpoints, then the same run killed after its second
# checkpoint and resumed. Long enough (about 2000 steps) that the kill lands mid-way.
long=("${common[@]}" --epochs 20 --checkpoint-every 50)
expect_exit 0 "train unbroken" -- "$UNLEARN" train "${long[@]}" --out whole.pt
[ -e whole.pt.ckpt ] && fail "a finished run left its checkpoint behind"
"$UNLEARN" train "${long[@]}" --out killed.pt >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # up to 60 s
  [ -e killed.pt.ckpt ] && break
  sleep 0.1
done
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e killed.pt ]; then
  fail "the run finished before it was killed; the resume check needs a longer run"
elif [ ! -e killed.pt.ckpt ]; then
  fail "no checkpoint was written before the kill"
else
  ls killed.pt.tmp* >/dev/null 2>&1 && fail "a killed run left a temporary file under a final name"
  expect_exit 0 "train --resume" -- "$UNLEARN" train "${long[@]}" --out killed.pt --resume
  cmp -s whole.pt killed.pt || fail "the resumed run's model differs from the unbroken run's"
  [ -e killed.pt.ckpt ] && fail "the resumed run left its checkpoint behind"
fi

# A checkpoint from another run is refused, naming the setting, and nothing is written.
"$UNLEARN" train "${long[@]}" --out other.pt >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -e other.pt.ckpt ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e other.pt.ckpt ]; then
  expect_exit 1 "resume with another lr" -- "$UNLEARN" train "${long[@]}" --lr 0.01 \
    --out other.pt --resume
  expect_stderr "resume with another lr" "different 'recipe'"
  [ -e other.pt ] && fail "a refused resume wrote its output"
fi
expect_exit 0 "--resume without a checkpoint starts afresh" -- "$UNLEARN" train "${common[@]}" \
  --epochs 3 --out fresh.pt --resume
cmp -s a.pt fresh.pt || fail "--resume without a checkpoint should give an unbroken run's bytes"
finish
