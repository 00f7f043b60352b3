#!/usr/bin/env bash
# Installs every build and test dependency of Viewfinder from Debian 12's packages.
# Idempotent: apt-get skips what is already installed. Run as root (or with sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev libomp-dev
  libgtest-dev libbenchmark-dev
  libdnnl-dev
  libvips-dev libjpeg62-turbo-dev libheif-dev libraw-dev libexiv2-dev libxxhash-dev
  libsqlite3-dev libfaiss-dev libopenblas-dev libhdf5-dev
  nlohmann-json3-dev libcpp-httplib-dev libssl-dev libcurl4-openssl-dev
  python3 python3-numpy python3-faiss python3-h5py python3-torch python3-onnx
  python3-yaml python3-jsonschema python3-hypothesis
  libimage-exiftool-perl
  chromium wrk
  # Milvus backend: gRPC stubs (protoc + plugin, libraries), and scripts/milvus.sh's venv,
  # network namespace and loopback forwarders.
  protobuf-compiler protobuf-compiler-grpc libgrpc++-dev libprotobuf-dev
  python3-venv iproute2 socat util-linux procps curl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Node.js (for the browser tests' Playwright driver) may come from Debian or elsewhere; only
# install Debian's when no node is on PATH, since the two conflict.
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
