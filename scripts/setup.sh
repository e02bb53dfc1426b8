#!/usr/bin/env bash
# Installs the Debian packages unlearn needs, then the report's chart libraries from the npm
# registry (third_party/report-js, pinned by its package-lock.json; the build inlines them into
# every HTML report). Idempotent: packages already present are skipped, so a second run costs
# one dpkg query and one hash.
#   scripts/setup.sh           build and test
#   scripts/setup.sh --bench   also the speed comparison's peers and profilers (bench/e2e.sh)
set -euo pipefail

packages=(
  build-essential cmake clang-format
  clang libclang-rt-14-dev   # the sanitized build: ASan, UBSan and libFuzzer (scripts/test-sanitized.sh)
  libtorch-dev            # tensors, autograd, optimisers, serialisation
  libgloo-dev             # headers of c10d's Gloo process group (unlearn launch, src/dist)
  libopenblas0-pthread    # fast BLAS behind LibTorch
  dataset-fashion-mnist   # the real data set behind --data fashion-mnist
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev   # CLI, JSON, --config
  zlib1g-dev              # gzipped IDX files
  libzip-dev libstb-dev libgdcm-dev   # npz (MedMNIST), PNG/JPEG folders, DICOM
  libgdcm-tools           # GDCM's CMake package refuses to load without its tools (gdcmdump, ...)
  libsvm-dev              # RBF-SVM of MIA-efficacy
  libssl-dev              # SHA-256 of inputs and outputs
  libsqlite3-dev          # the run registry
  googletest libgtest-dev libbenchmark-dev         # tests and micro-benchmarks
  python3-pydicom         # tests: the real DICOM sample files pydicom ships
  python3-torch           # tests: the TorchScript round trip with Python's torch.jit
  chromium                # tests: the HTML report opened in a headless browser
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(
    python3-torchvision     # bench/peer_pytorch.py, the plain-PyTorch peer
    time linux-perf valgrind            # wall time and peak memory, profiles
  )
elif [ -n "${1:-}" ]; then
  echo "setup.sh: unknown argument '$1' (expected --bench or nothing)" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# The chart libraries (vega, vega-lite, vega-embed) and the report test's browser driver
# (playwright-core, which drives the Debian chromium above). npm ci empties node_modules first,
# so it runs only when the lock file changed since the last install.
command -v npm >/dev/null || { echo "setup: npm is needed for the report's chart libraries" >&2; exit 1; }
js="$(cd "$(dirname "$0")/.." && pwd)/third_party/report-js"
stamp="$js/node_modules/.package-lock.sha256"
want=$(sha256sum "$js/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the report's chart libraries (npm ci in third_party/report-js)"
  (cd "$js" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
