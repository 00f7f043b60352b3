#!/usr/bin/env bash
# Generates the small-file seed corpus for fuzz_decode/fuzz_metadata into OUT_DIR (default
# build-fuzz/seeds): compiles fuzz/seeds/make_seeds.cpp against libvips and runs it. No photo
# from ../shared is copied; every seed is made here, tens to hundreds of bytes each.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$src/build-fuzz/seeds}"
mkdir -p "$out"
bin="$(mktemp -d)/make_seeds"
trap 'rm -rf "$(dirname "$bin")"' EXIT
# shellcheck disable=SC2046
g++ -std=c++20 -O1 "$src/fuzz/seeds/make_seeds.cpp" $(pkg-config --cflags --libs vips-cpp) -o "$bin"
"$bin" "$out"
