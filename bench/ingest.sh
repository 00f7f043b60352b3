#!/usr/bin/env bash
# Ingestion benchmark: file -> model input and file -> everything, single-threaded, per group
# (large camera JPEGs > 1 MB, HEIC/HEIF, the DNG, the ~500 px flowers), plus decode_share: the
# time to turn a 24 MP JPEG into model input divided by one ViT-B bf16 forward (batch 1) on a
# random-weight ViT-B (bench/make_random_model.py), measured in the same run. Goal: <= 0.10.
#
#   bench/run ingest [--budget SECONDS] [--no-build]
#
# Last line: one JSON object. Env: VF_BUILD_DIR (default build/), VF_SHARED (default ../shared).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
budget=3
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run ingest: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
shared="${VF_SHARED:-$root/../shared}"
photos="$shared/photos"
build_dir="${VF_BUILD_DIR:-$root/build}"
out="$root/bench/out"
mkdir -p "$out"
model="$out/models/vitb14-random"
[ -f "$model/model.safetensors" ] || /usr/bin/python3 "$root/bench/make_random_model.py" --size B --out "$model"
if [ "$build" = 1 ]; then
  [ -f "$build_dir/CMakeCache.txt" ] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" --target ingest_bench -j2 >"$out/ingest-build.log" 2>&1 ||
    { tail -30 "$out/ingest-build.log" >&2; echo "bench/run ingest: build failed" >&2; exit 1; }
fi
lists="$(mktemp -d)"
trap 'rm -rf "$lists"' EXIT
find "$photos/camera_exif" -type f -size +1M | sort >"$lists/large_jpeg"
find "$photos/formats" -type f \( -iname '*.heic' -o -iname '*.heif' \) | sort >"$lists/heic"
echo "$photos/raw/dng/canon_eos_6d.dng" >"$lists/dng"
find "$photos/flowers17/images" -type f | sort | sed -n 1,100p >"$lists/flowers"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build_dir/ingest_bench" --model "$model" --budget "$budget" \
  --group "large_jpeg:$lists/large_jpeg" --group "heic:$lists/heic" --group "dng:$lists/dng" \
  --group "flowers:$lists/flowers" \
  --big-jpeg "$out/jpeg-24mp.jpg" --big-source "$photos/camera_exif/metadata-extractor/Canon EOS 450D.jpg"
