#!/usr/bin/env bash
# The HTML report on tiny data: forget writes it beside its result, `report --out` merges
# several, and headless Chromium (tests/report/check_report.cjs) finds every chart drawn, no
# console error, no network request, and the headline table equal to the JSON. The screenshot
# goes to the build folder (report-test.png).
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
modules="$here/../../third_party/report-js/node_modules"
shot_dir=$(cd "$(dirname "$UNLEARN")" && pwd)
for need in node /usr/bin/chromium "$modules/playwright-core"; do
  command -v "$need" >/dev/null || [ -e "$need" ] || { fail "$need is missing: run scripts/setup.sh"; finish; }
done
check_page() {  # check_page NAME CHARTS HTML SHOT RESULT.json...
  local name=$1 charts=$2
  shift 2
  EXPECT_CHARTS=$charts NODE_PATH="$modules" node "$here/../report/check_report.cjs" "$@" \
    >"$WORK/page.txt" 2>&1 || { fail "$name: the page check failed"; cat "$WORK/page.txt"; }
}
common=(--model small-cnn --width 0.5 --epochs 4 --batch 16 --lr 0.05 --quiet)

expect_exit 0 "scenario device-shift" -- "$UNLEARN" scenario device-shift --data "$DATA" \
  --devices 3 --out shift --quiet
expect_exit 0 "train" -- "$UNLEARN" train --data folder:shift "${common[@]}" --out orig.pt
expect_exit 0 "train --exclude" -- "$UNLEARN" train --data folder:shift "${common[@]}" \
  --exclude 'device == "C"' --out re.pt
# A selection whose text would end a <script> element if the page inlined it raw.
expect_exit 0 "forget with the default report" -- "$UNLEARN" forget --model orig.pt \
  --data folder:shift --forget 'device == "C" or device == "</script><b>x"' --retrain re.pt \
  --out psg.pt --report psg.json --lr 0.05 --passes 3 --batch 8 --quiet
[ -f psg.html ] || fail "forget --report psg.json did not write psg.html"
for key in '"diagnostics"' '"membership"' '"embedding"' '"command_line"'; do
  grep -q "$key" psg.json || fail "psg.json lacks $key"
done
scripts=$(grep -o '<script' psg.html | wc -l)
ends=$(grep -io '</script' psg.html | wc -l)
[ "$scripts" = "$ends" ] || fail "psg.html: $scripts <script but $ends </script (inlined text ends one)"
check_page "forget's report" 6 psg.html "$shot_dir/report-test.png" psg.json

expect_exit 0 "forget --no-report" -- "$UNLEARN" forget --model orig.pt --data folder:shift \
  --forget 'device == "C"' --method finetune --retrain re.pt --out ft.pt --report ft.json \
  --no-report --quiet
[ -f ft.html ] && fail "--no-report wrote ft.html"
expect_exit 1 "forget onto an existing report" -- "$UNLEARN" forget --model orig.pt \
  --data folder:shift --forget 'device == "C"' --out again.pt --report again.json \
  --html psg.html --passes 1 --quiet
expect_stderr "forget onto an existing report" "--html"
[ -f again.pt ] || [ -f again.json ] && fail "a refused --html left outputs behind"

expect_exit 0 "report --out" -- "$UNLEARN" report psg.json ft.json --out both.html --quiet
[ -f both.html ] || fail "report --out did not write both.html"
grep -q 'data-model="finetune"' both.html || fail "both.html lacks the finetune row"
check_page "report of two results" 7 both.html "$WORK/both.png" psg.json ft.json
expect_exit 1 "report onto an existing file" -- "$UNLEARN" report psg.json --out both.html
expect_exit 2 "report of a folder without results" -- "$UNLEARN" report shift --out none.html
expect_stderr "report of a folder without results" "no result.json"
[ -f none.html ] && fail "a failed report left none.html"
finish
