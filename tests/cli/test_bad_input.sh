#!/usr/bin/env bash
# The bad-input catalogue: every tests/cli/bad_inputs/*.case runs one command on bad input and
# states its exit code (`code`), a substring of its message (`message`, case-insensitive) and
# the files that must not exist afterwards (`outputs`); an optional `verify` checks more. Each
# case runs in its own folder. Fixtures: the tiny data set ($DATA; its files in $WORK), a
# trained model ($ORIG) and damaged models ($BAD/nan.pt, mismatched.pt, classes5.pt).
source "$(dirname "$0")/lib.sh"
CASES="$(cd "$(dirname "$0")/bad_inputs" && pwd)"
ORIG="$WORK/orig.pt"
BAD="$WORK/bad"
"$UNLEARN" train --data "$DATA" --model small-cnn --width 0.25 --epochs 1 --batch 16 --quiet \
  --out "$ORIG" || { echo "FAIL: training the fixture model"; exit 1; }
mkdir "$BAD" && "$(dirname "$MAKE_TINY")/make_bad_models" "$ORIG" "$BAD" ||
  { echo "FAIL: make_bad_models"; exit 1; }

# tiny_copy DIR: the tiny IDX data set in DIR, to damage.
tiny_copy() { mkdir -p "$1" && cp "$WORK"/*-ubyte "$WORK"/classes.txt "$1"/; }

count=0
for case_file in "$CASES"/*.case; do
  name=$(basename "$case_file" .case)
  unset -f setup run verify
  code="" message="" outputs=""
  # shellcheck source=/dev/null
  source "$case_file"
  dir="$WORK/case-$name"
  mkdir "$dir" && cd "$dir" || exit 1
  if declare -F setup >/dev/null && ! setup >setup.log 2>&1; then
    fail "$name: setup failed"; cat setup.log; cd "$WORK" || exit 1; continue
  fi
  run >stdout.txt 2>stderr.txt
  rc=$?
  case " $code " in
    *" $rc "*) ;;
    *) fail "$name: exit $rc, expected $code"; head -5 stderr.txt ;;
  esac
  grep -qiF -- "$message" stderr.txt || { fail "$name: stderr lacks '$message'"; head -5 stderr.txt; }
  for f in $outputs; do [ -e "$f" ] && fail "$name: '$f' exists afterwards"; done
  ls ./*.tmp.* >/dev/null 2>&1 && fail "$name: a temporary file was left behind"
  if declare -F verify >/dev/null && ! verify; then fail "$name: verify failed"; fi
  count=$((count + 1))
  cd "$WORK" || exit 1
done
((count >= 60)) || fail "the catalogue has $count cases; it should have at least 60"
echo "$count bad-input cases"
finish
