#!/usr/bin/env bash
# TorchScript both ways: a model trained and scripted in Python is unlearned and exported; a
# native model is trained and exported. Python's torch.jit.load reads each export and gets the
# C++ side's logits on a fixed batch to 1e-5.
MODEL_LOGITS=$3
SCRIPT_DIR=$(cd "$(dirname "$0")/../interop" && pwd)
source "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
"$python" -c 'import torch' 2>/dev/null || { fail "$python lacks torch: run scripts/setup.sh"; finish; }
models="$SCRIPT_DIR/torchscript_models.py"

# Python writes a trained TorchScript model and its spec (py.pt.json).
"$python" "$models" write "$WORK" py.pt || fail "python could not write py.pt"
expect_exit 0 "eval torchscript:" -- "$UNLEARN" eval --model torchscript:py.pt --data "$DATA" \
  --forget 'class == 0' --json
grep -q '"UA"' out.txt || fail "eval of an imported model printed no metrics"
# inspect takes a model as --model does, torchscript: included (issue 22: it was refused as an
# unknown data scheme).
expect_exit 0 "inspect torchscript:" -- "$UNLEARN" inspect torchscript:py.pt
grep -q "torchscript" out.txt && grep -q "parameters" out.txt ||
  fail "inspect torchscript: lacks the architecture or the parameter count"
expect_exit 0 "forget torchscript:" -- "$UNLEARN" forget --model torchscript:py.pt --data "$DATA" \
  --forget 'class == 0' --method psg --passes 3 --out u.pt --report u.json --export torchscript \
  --no-registry --quiet
[ -f u.torchscript.pt ] || fail "--export torchscript did not write u.torchscript.pt"
expect_exit 0 "forget on the unlearned imported model" -- "$UNLEARN" forget --model u.pt \
  --data "$DATA" --forget 'class == 1' --method finetune --out v.pt --no-registry --quiet
expect_exit 0 "cf-k on an imported model (groups from names)" -- "$UNLEARN" forget \
  --model torchscript:py.pt --data "$DATA" --forget 'class == 0' --method cf-k --k 1 --out k.pt \
  --no-registry --quiet
mkdir -p imported native
"$MODEL_LOGITS" u.pt imported >/dev/null || fail "model_logits u.pt failed"
"$python" "$models" check u.torchscript.pt imported || fail "imported round trip: logits differ"

# A native model: train, export, compare.
expect_exit 0 "train --export torchscript" -- "$UNLEARN" train --data "$DATA" --model small-cnn \
  --width 0.5 --epochs 2 --batch 16 --out n.pt --export torchscript --no-registry --quiet
"$MODEL_LOGITS" n.pt native >/dev/null || fail "model_logits n.pt failed"
"$python" "$models" check n.torchscript.pt native || fail "native export: logits differ"
expect_exit 0 "eval the native export re-imported" -- "$UNLEARN" eval \
  --model torchscript:n.torchscript.pt --data "$DATA" --forget 'class == 0' --json

# Bad input: no spec, an existing export without --force, an architecture it cannot translate.
cp py.pt bare.pt
expect_exit 1 "torchscript without a spec" -- "$UNLEARN" eval --model torchscript:bare.pt \
  --data "$DATA" --forget 'class == 0'
expect_stderr "torchscript without a spec" "bare.pt.json"
expect_exit 0 "torchscript with the spec as flags" -- "$UNLEARN" eval --model torchscript:bare.pt \
  --torchscript-channels 1 --torchscript-size 8 --torchscript-mean 0.5 --torchscript-std 0.5 \
  --torchscript-classes c0,c1,c2,c3,c4,c5,c6,c7,c8,c9 --data "$DATA" --forget 'class == 0' --json
grep -q '"UA"' out.txt || fail "eval with --torchscript-* flags printed no metrics"
expect_exit 1 "torchscript flags naming too few classes" -- "$UNLEARN" eval \
  --model torchscript:bare.pt --torchscript-channels 1 --torchscript-size 8 \
  --torchscript-classes a,b,c --data "$DATA" --forget 'class == 0'
expect_stderr "torchscript flags naming too few classes" "names 3 classes"
touch n2.torchscript.pt
expect_exit 1 "export over an existing file" -- "$UNLEARN" train --data "$DATA" --model small-cnn \
  --width 0.5 --epochs 1 --out n2.pt --export torchscript --no-registry --quiet
expect_stderr "export over an existing file" "n2.torchscript.pt"
[ -e n2.pt ] && fail "a refused export still ran the training"
finish
