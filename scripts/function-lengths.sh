#!/usr/bin/env bash
# Lists every function of the library and the tool longer than N lines (default 80), with
# clang-tidy's readability-function-size on the build's compile commands. Needs a configured
# build/ (scripts/build.sh). Prints "FILE:LINE: NAME: LINES lines"; exit 0 either way.
#   scripts/function-lengths.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
limit=${1:-80}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# clang cannot read gcc's precompiled header: drop it (every source includes what it uses).
python3 - "$root/build/compile_commands.json" "$work/compile_commands.json" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
out = []
for e in entries:
    if "/tests/" in e["file"] or "/bench/" in e["file"] or "cmake_pch" in e["file"]:
        continue
    e["command"] = re.sub(r"-Winvalid-pch\s+-include\s+\S+", "", e["command"])
    out.append(e)
json.dump(out, open(sys.argv[2], "w"))
PY
mapfile -t units < <(python3 -c "
import json,sys; print('\n'.join(e['file'] for e in json.load(open('$work/compile_commands.json'))))")
for unit in "${units[@]}"; do
  clang-tidy -p "$work" --quiet --checks='-*,readability-function-size' \
    --config="{CheckOptions: [{key: readability-function-size.LineThreshold, value: $limit}]}" \
    --header-filter="$root/(src|tools|include)/.*" --extra-arg=-Wno-unknown-warning-option \
    "$unit" 2>/dev/null | grep -A3 "readability-function-size" || true
done | python3 -c "
import re, sys
lines = sys.stdin.read().split('\n')
seen = set()
for i, l in enumerate(lines):
    m = re.match(r'(\S+):(\d+):\d+: warning: function (\S+) exceeds', l)
    if not m: continue
    n = re.search(r'(\d+) lines including whitespace', ' '.join(lines[i:i+5]))
    key = (m.group(1), m.group(2))
    if key in seen: continue
    seen.add(key)
    print(f'{m.group(1).replace(\"$root/\", \"\")}:{m.group(2)}: {m.group(3)}: {n.group(1) if n else \"?\"} lines')
" | sort
