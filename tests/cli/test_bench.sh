#!/usr/bin/env bash
# unlearn bench on tiny data: a 2 x 3 x 3 matrix, its outputs, resuming, and bad bench files.
source "$(dirname "$0")/lib.sh"

cat >plan.yaml <<YAML
data: $DATA
model: {arch: small-cnn, width: 0.5}
recipe: {epochs: 3, batch: 16, lr: 0.05}
seeds: [0, 1, 2]
scenarios:
  - {name: class0, forget: "class == 0"}
  - {name: random, forget: "random(0.2, 3)"}
methods:
  - retrain
  - {method: psg, options: {lr: 0.05, passes: 2, batch: 8}}
  - {method: psg, label: psg-slow, options: {lr: 0.01, passes: 1}}
YAML

expect_exit 0 "bench" -- "$UNLEARN" bench plan.yaml --out run --quiet
for f in results.csv results.json results.md report.html plan.yaml models/original-s0.pt \
  models/retrain-class0-s1.pt cells/class0/psg/s0/result.json cells/random/psg-slow/s1/log.txt; do
  [ -f "run/$f" ] || fail "bench did not write run/$f"
done
# 2 reference rows x 2 scenarios x 3 seeds + 18 cells, and a header.
[ "$(wc -l <run/results.csv)" -eq 31 ] || fail "results.csv: expected 31 lines"
grep -q '^class0,psg,1,ok,' run/results.csv || fail "results.csv lacks the class0/psg/seed 1 row"
grep -q '## class0' run/results.md && grep -q 'Avg-gap\|avg_gap' run/results.md ||
  fail "results.md lacks the class0 table"
grep -q '± ' run/results.md || fail "results.md: expected mean ± std over 3 seeds"
# The retrain method's cell is the gold standard itself, from the model cache: gap 0.
grep -q '^class0,retrain,0,ok,' run/results.csv || fail "retrain cell missing"
# Three seeds give the challenge's forgetting quality with N = 3.
grep -q '"forgetting_quality"' run/results.json && grep -q '"n": 3' run/results.json ||
  fail "results.json lacks forgetting quality with N = 3"
grep -q 'Forgetting quality' run/results.md || fail "results.md lacks forgetting quality"
# Depth audits are on by default: every cell, and the original's and retrain's reference rows.
grep -q 'Depth audits' run/results.md || fail "results.md lacks the depth-audit table"
grep -q '| (retrain) | [-0-9.]' <(sed -n '/Depth audits/,/Goal suppress/p' run/results.md) ||
  fail "the depth-audit table lacks the retrain's audits"
head -1 run/results.csv | grep -q 'depth_gap' || fail "results.csv lacks depth_gap"
grep -q '"probe.UA"' run/results.json || fail "results.json lacks the probe's UA"
grep -q 'id="audits"' run/report.html && grep -q 'data-role="retrain"' run/report.html ||
  fail "report.html lacks the depth-audit table"

# Resuming: nothing to do; then one removed cell is the only one run again.
expect_exit 0 "bench resume" -- "$UNLEARN" bench plan.yaml --out run
grep -q '0 cells run now' out.txt || fail "a finished bench should run no cell again"
rm run/cells/random/psg/s1/result.json
expect_exit 0 "bench resume one" -- "$UNLEARN" bench plan.yaml --out run
grep -q '1 cells run now' out.txt || fail "only the removed cell should run"
# Changing a method's options makes its cells stale.
sed -i 's/lr: 0.01, passes: 1/lr: 0.02, passes: 1/' plan.yaml
expect_exit 0 "bench changed options" -- "$UNLEARN" bench plan.yaml --out run
grep -q "6 cells run now" out.txt || fail "the changed method's 6 cells should run again"

# Bad files fail before any training, naming the line and the name.
sed 's/method: psg, label: psg-slow/method: nosuch, label: psg-slow/' plan.yaml >bad1.yaml
expect_exit 2 "unknown method" -- "$UNLEARN" bench bad1.yaml --out bad1
expect_stderr "unknown method" "bad1.yaml:11"
expect_stderr "unknown method" "nosuch"
[ -e bad1/models/original-s0.pt ] && fail "a bad bench file must fail before training"
sed 's/passes: 2, batch: 8/passes: 2, bogus: 8/' plan.yaml >bad2.yaml
expect_exit 2 "unknown option" -- "$UNLEARN" bench bad2.yaml --out bad2
expect_stderr "unknown option" "bad2.yaml:10"
expect_stderr "unknown option" "bogus"
sed 's/class == 0/klass == 0/' plan.yaml >bad3.yaml
expect_exit 2 "bad selection" -- "$UNLEARN" bench bad3.yaml --out bad3
expect_stderr "bad selection" "bad3.yaml:6"
printf 'seeds: [0]\nmethods: [psg]\nscenarios: [{name: a, forget: "class == 0"}]\nepochs: 3\n' >bad4.yaml
expect_exit 2 "unknown key" -- "$UNLEARN" bench bad4.yaml --out bad4
expect_stderr "unknown key" "bad4.yaml:4"
printf 'audit: maybe\nmethods: [psg]\nscenarios: [{name: a, forget: "class == 0"}]\n' >bad5.yaml
expect_exit 2 "audit not a boolean" -- "$UNLEARN" bench bad5.yaml --out bad5
expect_stderr "audit not a boolean" "bad5.yaml:1"
expect_stderr "audit not a boolean" "expected true or false"
finish
