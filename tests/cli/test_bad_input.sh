#!/usr/bin/env bash
# Bad input exits 1 or 2 with a message naming the problem, and leaves no output behind.
source "$(dirname "$0")/lib.sh"
train=(train --model small-cnn --width 0.25 --epochs 1 --batch 16 --quiet)

# A truncated IDX file.
mkdir trunc && cp "$WORK"/*-ubyte "$WORK"/classes.txt trunc/
head -c 1000 "$WORK/train-images-idx3-ubyte" > trunc/train-images-idx3-ubyte
expect_exit "1 2" "truncated IDX" -- "$UNLEARN" "${train[@]}" --data idx:trunc --out t.pt
expect_stderr "truncated IDX" "train-images-idx3-ubyte"
expect_stderr "truncated IDX" "offset"
[ -e t.pt ] && fail "truncated IDX: output written"

# Image and label counts disagree.
mkdir mismatch && cp "$WORK"/*-ubyte "$WORK"/classes.txt mismatch/
cp "$WORK/t10k-labels-idx1-ubyte" mismatch/train-labels-idx1-ubyte
expect_exit "1 2" "count mismatch" -- "$UNLEARN" "${train[@]}" --data idx:mismatch --out m.pt
expect_stderr "count mismatch" "labels"
[ -e m.pt ] && fail "count mismatch: output written"

# A model to forget from.
expect_exit 0 "train" -- "$UNLEARN" "${train[@]}" --data "$DATA" --out orig.pt

# An unknown column in --forget.
expect_exit "1 2" "unknown column" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'devce == "x"' --out u.pt --report u.json --quiet
expect_stderr "unknown column" "devce"
[ -e u.pt ] || [ -e u.json ] && fail "unknown column: output written"

# A bad expression reports its column.
expect_exit "1 2" "bad expression" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0 and (class == 1' --out u.pt --quiet
expect_stderr "bad expression" "column 27"

# An empty selection, then the same with --allow-empty.
expect_exit "1 2" "empty selection" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0 and class == 1' --out u.pt --report u.json --quiet
expect_stderr "empty selection" "matches no training sample"
[ -e u.pt ] || [ -e u.json ] && fail "empty selection: output written"

# An existing --out is never overwritten without --force.
cp orig.pt existing.pt
before=$(sha256sum existing.pt)
expect_exit "1 2" "existing --out" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --out existing.pt --quiet
expect_stderr "existing --out" "already exists"
[ "$(sha256sum existing.pt)" = "$before" ] || fail "existing --out was modified"

# Usage errors exit 2.
expect_exit 2 "unknown method" -- "$UNLEARN" forget --model orig.pt --forget 'class == 0' \
  --method nope --out x.pt
expect_exit 2 "bad option value" -- "$UNLEARN" forget --model orig.pt --data "$DATA" \
  --forget 'class == 0' --epsilon abc --out x.pt
expect_stderr "bad option value" "--epsilon"
expect_exit 2 "bad --normalize" -- "$UNLEARN" "${train[@]}" --data "$DATA" --normalize 0.5 --out x.pt
expect_stderr "bad --normalize" "--normalize"
expect_exit 2 "missing required" -- "$UNLEARN" train --out x.pt --epochs
[ -e x.pt ] && fail "usage error: output written"
ls ./*.tmp.* >/dev/null 2>&1 && fail "a temporary file was left behind"
finish
