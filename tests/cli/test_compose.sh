#!/usr/bin/env bash
# unlearn compose on tiny data: two PSG runs of one original, each operator, the search, and the
# refusals (bad usage, another original's run, an existing output).
source "$(dirname "$0")/lib.sh"

common=(--data "$DATA" --quiet)
train=(train "${common[@]}" --model small-cnn --width 0.5 --epochs 3 --batch 16 --lr 0.05)
expect_exit 0 "train" -- "$UNLEARN" "${train[@]}" --out orig.pt
expect_exit 0 "train another" -- "$UNLEARN" "${train[@]}" --seed 5 --out other.pt
expect_exit 0 "retrain" -- "$UNLEARN" "${train[@]}" --exclude 'class == 0' --out re.pt
forget=(forget "${common[@]}" --forget 'class == 0' --method psg --batch 8 --passes 2)
expect_exit 0 "psg hard" -- "$UNLEARN" "${forget[@]}" --model orig.pt --retain-weight 0 --out hard.pt
expect_exit 0 "psg kind" -- "$UNLEARN" "${forget[@]}" --model orig.pt --retain-weight 2 --out kind.pt
expect_exit 0 "psg other" -- "$UNLEARN" "${forget[@]}" --model other.pt --out stray.pt

eval=(--forget 'class == 0' --original orig.pt --retrain re.pt)
expect_exit 0 "swap" -- "$UNLEARN" compose swap kind.pt hard.pt --take classifier=2 \
  "${common[@]}" "${eval[@]}" --out swap.pt --report swap.json
for key in '"unlearned"' '"original"' '"retrain"' '"avg_gap"' '"operator": "swap"' '"FTA"'; do
  grep -q -- "$key" swap.json || fail "swap.json lacks $key"
done
expect_exit 0 "interpolate" -- "$UNLEARN" compose interpolate kind.pt hard.pt --alpha 0.3 \
  --alpha classifier=1 "${common[@]}" --forget 'class == 0' --out mix.pt
expect_exit 0 "soup" -- "$UNLEARN" compose soup kind.pt hard.pt --no-recalibrate --out soup.pt
expect_exit 0 "task vector" -- "$UNLEARN" compose task-vector hard.pt --base orig.pt --scale 0.5 \
  "${common[@]}" --forget 'class == 0' --finetune-epochs 1 --freeze features --out tv.pt
expect_exit 0 "search" -- "$UNLEARN" compose --search kind.pt hard.pt --grid 3 \
  "${common[@]}" "${eval[@]}" --validation 0.2 --out best.pt --report best.json
grep -q '"pareto_front"' best.json || fail "best.json lacks the explored frontier"
[ "$(grep -c '"candidate":' best.json)" -eq 9 ] || fail "search: expected 9 candidates (3 x 3)"

# Refusals: exit 2 for usage, 1 for a bad input; nothing is written.
expect_exit 2 "soup weights" -- "$UNLEARN" compose soup kind.pt hard.pt --weights 0.5,0.6 \
  --no-recalibrate --out bad.pt
expect_stderr "soup weights" "must sum to 1"
expect_exit 2 "unknown group" -- "$UNLEARN" compose swap kind.pt hard.pt --take head=2 \
  --no-recalibrate --out bad.pt
expect_stderr "unknown group" "features, classifier"
expect_exit 2 "no forget" -- "$UNLEARN" compose soup kind.pt hard.pt --out bad.pt
expect_stderr "no forget" "--forget is required"
expect_exit 1 "mixed origin" -- "$UNLEARN" compose soup kind.pt stray.pt --no-recalibrate \
  --out bad.pt
expect_stderr "mixed origin" "--allow-mixed-origin"
[ -e bad.pt ] && fail "a refused compose must not write its output"
expect_exit 0 "mixed origin allowed" -- "$UNLEARN" compose soup kind.pt stray.pt \
  --no-recalibrate --allow-mixed-origin --out mixed.pt
expect_exit 1 "existing output" -- "$UNLEARN" compose soup kind.pt hard.pt --no-recalibrate \
  --out soup.pt
expect_stderr "existing output" "--force"
finish
