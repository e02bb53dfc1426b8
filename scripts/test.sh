#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test that is not labelled `slow`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -LE slow -j "$(nproc 2>/dev/null || echo 2)"
