#!/usr/bin/env bash
# The main job on the sample data: index the 680 sample flower photos, then search by example.
# Uses $VIEWFINDER_MODEL when set (a real facebook/dinov2-base directory); otherwise the
# random-weight golden ViT-S/14 from ../shared/golden, which exercises the real pipeline but
# gives meaningless similarities.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${VF_SHARED:-$(cd .. && pwd)/shared}"
model="${VIEWFINDER_MODEL:-$shared/golden/models/small}"
lib="build/sample-library"
photos="$shared/photos/flowers17/images"
echo "== viewfinder index $photos (model: $model)"
./build/viewfinder index "$photos" --library "$lib" --model "$model"
echo "== viewfinder info"
./build/viewfinder info --library "$lib"
files=("$photos"/*.jpg)
query="${files[0]}"
echo "== viewfinder search $query"
./build/viewfinder search "$query" --library "$lib" -k 5
