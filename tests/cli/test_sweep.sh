#!/usr/bin/env bash
# unlearn sweep on tiny data: a 2 x 2 grid, its outputs, resuming, and a bad search space.
source "$(dirname "$0")/lib.sh"

cat >sweep.yaml <<YAML
data: $DATA
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 3, batch: 16, lr: 0.05}
forget: "class == 0"
validation: 0.2
method: psg
options: {batch: 8}
space:
  lr: [0.01, 0.05]
  passes: [1, 3]
YAML
expect_exit 0 "sweep" -- "$UNLEARN" sweep sweep.yaml --out sw
for f in sweep.csv sweep.json sweep.md report.html models/original.pt models/retrain.pt trials/t003/result.json; do
  [ -f "sw/$f" ] || fail "sweep did not write sw/$f"
done
[ "$(wc -l <sw/sweep.csv)" -eq 5 ] || fail "sweep.csv: expected 4 trials and a header"
grep -q 'Chosen for match-retrain: t00' out.txt || fail "no setting chosen for match-retrain"
grep -q 'Chosen for suppress: t00' out.txt || fail "no setting chosen for suppress"
grep -q '"pareto_front"' sw/sweep.json || fail "sweep.json lacks the Pareto front"
# The validation split stands in for the test set in every trial's result.
grep -q 'validation split' sw/trials/t000/result.json || fail "trials must run on the validation split"
# Depth audits are on by default in every trial.
grep -q '"depth_gap"' sw/trials/t000/result.json || fail "a trial lacks its depth audits"
head -1 sw/sweep.csv | grep -q 'depth_gap' || fail "sweep.csv lacks depth_gap"
expect_exit 0 "sweep resume" -- "$UNLEARN" sweep sweep.yaml --out sw
grep -q '0 trials run now' out.txt || fail "a finished sweep should run no trial again"
expect_exit 0 "sweep --compose" -- "$UNLEARN" sweep sweep.yaml --out sw --compose
grep -q '0 trials run now' out.txt || fail "--compose should reuse the finished trials"
if grep -q '"skipped"' sw/sweep.json; then
  grep -q 'Not composed' sw/sweep.md || fail "sweep.md should say why nothing was composed"
else
  [ -f sw/compose/model.pt ] || fail "sweep --compose did not write sw/compose/model.pt"
  [ -f sw/compose/search.json ] || fail "sweep --compose did not write sw/compose/search.json"
  grep -q '| composite |' sw/sweep.md || fail "sweep.md lacks the composite's row"
fi

sed 's/passes: \[1, 3\]/pases: [1, 3]/' sweep.yaml >bad.yaml
expect_exit 2 "unknown option in the space" -- "$UNLEARN" sweep bad.yaml --out bad
expect_stderr "unknown option in the space" "bad.yaml:10"
expect_stderr "unknown option in the space" "pases"
[ -e bad/models/original.pt ] && fail "a bad sweep file must fail before training"
finish
