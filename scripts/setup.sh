#!/usr/bin/env bash
# Installs the Debian packages unlearn needs. Idempotent: packages already present are skipped,
# so a second run costs one dpkg query.
#   scripts/setup.sh           build and test
#   scripts/setup.sh --bench   also the speed comparison's peers and profilers (bench/e2e.sh)
set -euo pipefail

packages=(
  build-essential cmake clang-format
  libtorch-dev            # tensors, autograd, optimisers, serialisation
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
