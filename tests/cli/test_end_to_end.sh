#!/usr/bin/env bash
# train -> train --exclude -> forget (psg, boundary-shrink) -> eval -> report on tiny data.
source "$(dirname "$0")/lib.sh"
common=(--data "$DATA" --model small-cnn --width 0.5 --epochs 4 --batch 16 --lr 0.05 --quiet)

expect_exit 0 "train" -- "$UNLEARN" train "${common[@]}" --out orig.pt
expect_exit 0 "train --normalize" -- "$UNLEARN" train "${common[@]}" --epochs 1 --normalize 0.5,0.5 \
  --out fixed.pt
expect_exit 0 "train --exclude" -- "$UNLEARN" train "${common[@]}" --exclude 'class == 0' --out re.pt
[ -f orig.pt ] && [ -f re.pt ] || fail "models were not written"

expect_exit 0 "forget psg" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == "T-shirt/top"' --method psg --retrain re.pt --out psg.pt --report psg.json \
  --lr 0.05 --passes 5 --batch 8
for key in '"original"' '"unlearned"' '"retrain"' '"UA"' '"RA"' '"TA"' '"FTA"' '"RTA"' \
  '"MIA_efficacy"' '"avg_gap"' '"unlearn"' '"options"' '"n_forget_train"' '"torch_version"' \
  '"threads"' '"trace"' '"flip_rate"' '"relabel_counts"'; do
  grep -q "$key" psg.json || fail "psg.json lacks $key"
done
grep -q '"n_forget_train": 40' psg.json || fail "psg.json: expected 40 forget samples"
grep -q 'psg' out.txt || fail "forget did not print its table"

# The run registry: train -> psg.pt -> v3.pt is one lineage, newest first.
expect_exit 0 "forget a second request" -- "$UNLEARN" forget --model psg.pt --data "$DATA" \
  --forget 'class == 1' --passes 1 --out v3.pt --quiet
expect_exit 0 "history" -- "$UNLEARN" history v3.pt
[ "$(grep -c -E '^[0-9]+ ' out.txt)" = 3 ] || fail "history v3.pt: expected 3 runs"
head -2 out.txt | tail -1 | grep -q 'class == 1' || fail "history: the newest run should come first"
grep -q 'train' out.txt || fail "history: the lineage should end at the training run"
expect_exit 0 "forget --no-registry" -- "$UNLEARN" forget --model psg.pt --data "$DATA" \
  --forget 'class == 2' --passes 1 --out unrecorded.pt --no-registry --quiet
expect_exit 1 "history of an unrecorded model" -- "$UNLEARN" history unrecorded.pt
grep -q "no run in" err.txt || fail "history of an unrecorded model: expected 'no run in'"

# The audit manifest: verify recomputes it; a changed output is a mismatch (exit 1).
[ -f psg.pt.manifest.json ] || fail "forget did not write psg.pt.manifest.json"
grep -q '"ids_sha256"' psg.pt.manifest.json || fail "the manifest lacks the forgotten ids' digest"
grep -q '"ids": \[' psg.pt.manifest.json && fail "the ids themselves need --manifest-ids"
expect_exit 0 "verify" -- "$UNLEARN" verify psg.pt.manifest.json --quiet
grep -q " 0 mismatches" out.txt || fail "verify of an untouched run: expected 0 mismatches"
grep -q "metric unlearned.UA" out.txt || fail "verify should recompute the unlearned model's UA"
expect_exit 0 "forget --manifest-ids" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 3' --passes 1 --out ids.pt --manifest-ids --no-registry --quiet
grep -q '"ids": \[' ids.pt.manifest.json || fail "--manifest-ids: the manifest lacks the ids"
printf 'x' >>ids.pt
expect_exit 1 "verify a changed output" -- "$UNLEARN" verify ids.pt.manifest.json --quiet
grep -q "MISMATCH  file output" out.txt || fail "verify: a changed output must be a mismatch"

expect_exit 0 "forget boundary-shrink" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --method boundary-shrink --out bs.pt --report bs.json --passes 2 --quiet
expect_exit 0 "forget with a YAML config" -- bash -c "printf 'lr: 0.01\npasses: 1\nquantize: false\n' > cfg.yaml &&
  '$UNLEARN' forget --config cfg.yaml --model orig.pt --data '$DATA' --forget 'class == 1' \
  --out cfg.pt --report cfg.json --passes 2 --quiet"
grep -q '"passes": 2' cfg.json || fail "command-line --passes should win over the config"
grep -q '"lr": 0.01' cfg.json || fail "config lr was not applied"
grep -q '"quantize": false' cfg.json || fail "config quantize: false was not applied"

expect_exit 0 "forget random subset" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'random(0.1, 3)' --out rnd.pt --report rnd.json --passes 1 --quiet
grep -q '"FTA"' rnd.json && fail "a random() selection has no test part: FTA must be absent"

expect_exit 0 "forget --precision bf16 --retain-share" -- "$UNLEARN" forget --model orig.pt \
  --data "$DATA" --forget 'class == 0' --retain-weight 0.5 --retain-share 0.5 --precision bf16 \
  --input-size 8 --passes 1 --out bf16.pt --report bf16.json --quiet
grep -q '"precision": "bf16"' bf16.json || fail "bf16.json: env.precision should be bf16"
grep -q '"n_retain_used": 180' bf16.json || fail "bf16.json: expected half of 360 retain rows used"
grep -q '"gflops_per_second"' bf16.json || fail "bf16.json: PSG summary lacks gflops_per_second"
expect_exit 2 "forget --input-size mismatch" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --input-size 32 --out never.pt
grep -q "takes 8x8" err.txt || fail "--input-size mismatch: message should name the model's size"
[ -e never.pt ] && fail "--input-size mismatch left an output file"

# A time budget far below one pass: PSG fits what it can (one step at least) and says so.
expect_exit 0 "forget --time-budget" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --passes 50 --time-budget 0.001 --out budget.pt --report budget.json --quiet
grep -q '"time_budget"' budget.json || fail "budget.json lacks time_budget"
grep -q '"stop_reason": "fitted into the time budget"' budget.json ||
  fail "budget.json: PSG's stop_reason should name the time budget"
grep -q '"planned_steps"' budget.json || fail "budget.json lacks planned_steps"
expect_exit 2 "forget --time-budget negative" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --time-budget -1 --out never.pt
expect_stderr "forget --time-budget negative" "--time-budget"
[ -e never.pt ] && fail "a bad --time-budget left an output file"

expect_exit 0 "eval --json" -- "$UNLEARN" eval --model psg.pt --data "$DATA" --forget 'class == 0' \
  --original orig.pt --retrain re.pt --json
grep -q '"model"' out.txt && grep -q '"avg_gap"' out.txt || fail "eval --json lacks model/avg_gap"
for key in '"MIA_entropy"' '"ECE"' '"per_class"' '"output_divergence"' '"JS_forget"' '"goals"' \
  '"match-retrain"' '"suppress"'; do
  grep -q "$key" out.txt || fail "eval --json lacks $key"
done
expect_exit 0 "eval --relearn" -- "$UNLEARN" eval --model psg.pt --data "$DATA" --forget 'class == 0' \
  --original orig.pt --relearn --json
grep -q '"relearn"' out.txt && grep -q '"steps"' out.txt || fail "eval --relearn lacks relearn.steps"

expect_exit 0 "forget --audit" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --retrain re.pt --passes 2 --out audited.pt --report audited.json --audit
for key in '"audits"' '"recalibration"' '"retain_relearn"' '"few_shot_10"' '"probe"' \
  '"depth_gap"' '"audit"'; do
  grep -q "$key" audited.json || fail "forget --audit: audited.json lacks $key"
done
grep -q '^depth audits' out.txt || fail "forget --audit did not print the audit table"
grep -q '"depth_gap"' psg.json && fail "forget without --audit must not run the audits"
expect_exit 0 "eval --audit" -- "$UNLEARN" eval --model audited.pt --data "$DATA" \
  --forget 'class == 0' --original orig.pt --retrain re.pt --audit
expect_stderr "eval --audit" "reusing the cached depth audits of orig.pt"
grep -q '^model .*[0-9]' <(sed -n '/^depth audits/,$p' out.txt) ||
  fail "eval --audit: the audit table lacks the model's row"

expect_exit 0 "eval twice" -- "$UNLEARN" eval --model psg.pt --data "$DATA" --forget 'class == 0' \
  --original orig.pt
expect_stderr "eval twice" "reusing cached outputs"
grep -q "^original " out.txt || fail "eval table lacks the original row"

expect_exit 0 "report" -- "$UNLEARN" report psg.json bs.json
for row in original retrain psg boundary-shrink; do
  grep -q "^$row " out.txt || fail "report table lacks the $row row"
done
finish
