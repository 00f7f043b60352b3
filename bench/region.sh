#!/usr/bin/env bash
# Region search and heatmap benchmark (docs/search.md, "Search by a region" and "Why it matched").
#
#   bench/run region [--no-build]
#
# Builds a composite set from real photos (flowers17 crops pasted into camera_exif and skimage
# photos at 3 places and scales; bench/region_bench.cpp says how) into
# $VF_BUILD_DIR/region_eval/ (never committed), indexes it with the golden ViT-S-shaped model
# (`small`, random weights), and reports recall@10 of a region query against a whole-picture
# query of the same source photo, plus the time of 12 heatmaps. Last line: one JSON object.
# Env: VF_BUILD_DIR (default build/), VF_SHARED (default ../shared).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${VF_BUILD_DIR:-$root/build}"
shared="${VF_SHARED:-$root/../shared}"
if [ "${1:-}" != "--no-build" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target region_bench viewfinder -j2 >/dev/null
fi
out="$build/region_eval"
[ -f "$out/queries.json" ] || "$build/region_bench" make "$out" "$shared/photos/"
"$build/viewfinder" index -l "$out/lib" --model "$shared/golden/models/small" -q "$out/library" >&2
"$build/region_bench" eval "$out/lib" "$out"
