#!/usr/bin/env bash
# unlearn bench on tiny data: equal tuning, time budgets, --stop-after, outliers() scenarios and
# the plan errors of these keys (the matrix itself is test_bench.sh).
source "$(dirname "$0")/lib.sh"

# Equal tuning and time budgets: finetune gets a random search of 2 settings on a validation
# split and runs tuned beside its defaults; the best setting of every method but the retrain runs
# again at shares of the retrain's training time.
cat >budget.yaml <<YAML
data: $DATA
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 2, batch: 16, lr: 0.05}
audit: false
tune: {trials: 2}
budgets: [1/10, 0.5]
scenarios:
  - {name: class0, forget: "class == 0"}
methods:
  - retrain
  - {method: psg, options: {lr: 0.05, passes: 2, batch: 8}}
  - {method: finetune, options: {epochs: 2}, space: {lr: {log-uniform: [0.001, 0.1]}}}
YAML
expect_exit 0 "bench budgets" -- "$UNLEARN" bench budget.yaml --out budget --quiet
for f in tune/class0/finetune/sweep.json tune/class0/finetune/trials/t001/result.json \
  tune/models/original.pt tune/models/retrain-class0.pt cells/class0/finetune-tuned/s0/result.json \
  cells/class0/psg@1-10/s0/result.json cells/class0/finetune-tuned@0.5/s0/result.json; do
  [ -f "budget/$f" ] || fail "bench budgets did not write budget/$f"
done
[ -e budget/tune/class0/finetune/trials/t002 ] && fail "tune.trials 2 ran a third setting"
[ -e budget/cells/class0/retrain@1-10 ] && fail "the retrain is the reference, not run at a budget"
[ -e budget/cells/class0/finetune@1-10 ] && fail "a tuned method runs its tuned setting at budgets"
grep -q 'finetune-tuned' budget/results.md && grep -q '^- finetune (2 settings): `--epochs 2`, `--lr ' \
  budget/results.md || fail "results.md lacks the tuned column and its chosen setting"
grep -q 'The bench took [0-9]* s of wall time' budget/results.md || fail "results.md lacks the wall time"
grep -q '"time_budget"' budget/cells/class0/psg@1-10/s0/result.json ||
  fail "a budget cell's result lacks time_budget"
grep -q '### Budget 1/10' budget/results.md && grep -q '### Budget 0.5' budget/results.md ||
  fail "results.md lacks a table per budget"
grep -q 'kept to the budget' budget/results.md || fail "the budget tables lack the kept column"
grep -q 'Pareto front of unlearning time and Avg-gap' budget/results.md ||
  fail "results.md lacks the time-Avg-gap front"
grep -q '"time_front"' budget/results.json || fail "results.json lacks time_front"
grep -q 'id="chart-time"' budget/report.html || fail "the report lacks the time chart"
grep -q 'trials/t00' budget/report.html && fail "the bench's report must not show its tuning trials"
expect_exit 0 "bench budgets resume" -- "$UNLEARN" bench budget.yaml --out budget
grep -q '0 cells run now' out.txt || fail "a finished budget bench should run no cell again"
# outliers() ranks samples with each seed's original: the bench accepts it and makes the split
# when the retrain is made.
cat >outliers.yaml <<YAML
data: $DATA
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 2, batch: 16, lr: 0.05}
audit: false
scenarios:
  - {name: outl, forget: "outliers(0.1)"}
methods:
  - {method: finetune, options: {epochs: 1}}
YAML
# --stop-after: the references are made, no cell starts after the time, and a rerun finishes.
expect_exit 0 "bench --stop-after" -- "$UNLEARN" bench outliers.yaml --out outl --stop-after 0.0001
grep -q 'left by --stop-after' out.txt || fail "--stop-after: the output should say cells are left"
grep -q 'are not run yet' outl/results.md || fail "--stop-after: results.md should say cells are left"
[ -e outl/cells/outl/finetune/s0/result.json ] && fail "--stop-after: no cell should have started"
expect_exit 0 "bench outliers()" -- "$UNLEARN" bench outliers.yaml --out outl --quiet
[ -f outl/cells/outl/finetune/s0/result.json ] || fail "bench outliers() did not run its cell"
printf 'methods: [{method: psg, space: {lr: [0.1]}}]\nscenarios: [{name: a, forget: "class == 0"}]\n' >bad8.yaml
expect_exit 2 "space without tune" -- "$UNLEARN" bench bad8.yaml --out bad8
expect_stderr "space without tune" "needs the plan's 'tune' section"
printf 'budgets: [2]\nmethods: [psg]\nscenarios: [{name: a, forget: "class == 0"}]\n' >bad6.yaml
expect_exit 2 "budget above 1" -- "$UNLEARN" bench bad6.yaml --out bad6
expect_stderr "budget above 1" "bad6.yaml:1"
expect_stderr "budget above 1" "expected a share in (0, 1]"
printf 'budgets: [a/b]\nmethods: [psg]\nscenarios: [{name: a, forget: "class == 0"}]\n' >bad7.yaml
expect_exit 2 "budget not a share" -- "$UNLEARN" bench bad7.yaml --out bad7
expect_stderr "budget not a share" "such as 1/100"
finish
