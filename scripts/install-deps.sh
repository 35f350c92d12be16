#!/usr/bin/env bash
# Installs the Debian packages marsc needs, only when some are missing.
# Used by `make demo` and `make test`; safe to run repeatedly. clang, its
# runtime (libFuzzer, sanitizers) and llvm (llvm-symbolizer) build and run
# the fuzz targets of test/fuzz; clang-format and clang-tidy check the C++
# style (make format-check, make tidy); time (/usr/bin/time) gives
# `make bench` its peak-memory column.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev
  libcli11-dev nlohmann-json3-dev catch2
  dataset-fashion-mnist libonnx-testdata
  python3-torch python3-torchvision python3-onnx python3-numpy
  libtorch-dev libgloo-dev
  clang libclang-rt-14-dev llvm
  clang-format clang-tidy
  time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
