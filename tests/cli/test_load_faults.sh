#!/usr/bin/env bash
# Load and faults (issue 22), small enough for CI: 8 forget runs at once on the tiny data,
# sharing one output cache and one registry, one killed with SIGKILL halfway; the survivors'
# outputs must equal their runs alone, the cache entries load whole, and the registry holds one
# row per survivor (bench/load_faults.sh does the checks; docs/results.md has a bigger run).
source "$(dirname "$0")/lib.sh"
"$UNLEARN" train --data "$DATA" --model small-cnn --width 0.25 --epochs 1 --batch 16 --quiet \
  --out original.pt --no-registry || { echo "FAIL: training the fixture model"; exit 1; }
bash "$(dirname "$0")/../../bench/load_faults.sh" "$UNLEARN" "$DATA" original.pt --procs 8 \
  --work "$WORK/load" || fail "bench/load_faults.sh"
finish
