#!/usr/bin/env bash
# Configures and builds unlearn (CMake, Release, precompiled headers, unity batches) into build/.
# Arguments are passed to `cmake --build`, e.g. `scripts/build.sh --target unlearn`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j "$jobs" "$@"
