#!/usr/bin/env bash
# Search benchmark: p50/p99 latency of search by stored id, hybrid search with metadata filters,
# and a full query from an uploaded 12 MP JPEG (decode + embed + search), measured against the
# engine alone on the same upload in the same run.
#
#   bench/run search [--photos N] [--queries N] [--uploads N] [--no-build] [--skip-flowers]
#
# Libraries: a synthetic one of N photos (default 100,000; random L2-normalised 384-d vectors,
# random colour histograms, varied metadata, written straight into a catalog, indexes built by
# the library itself; cached in $VF_BUILD_DIR/bench-search/) and flowers17 indexed with the
# golden ViT-S-shaped model (random weights). Query model: the golden `small` model.
# Goals (docs/benchmarks.md "## Search"): p50 < 20 ms for id and hybrid at 100k; the upload
# query within 1.15x of the engine alone. Reported, never asserted. Last line: one JSON object.
# Env: VF_BUILD_DIR (default build/), VF_SHARED (default ../shared).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${VF_BUILD_DIR:-$root/build}"
shared="${VF_SHARED:-$root/../shared}"
photos=100000
queries=200
uploads=10
do_build=1
flowers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --photos) photos="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    --uploads) uploads="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --skip-flowers) flowers=0; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run search: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
model="$shared/golden/models/small"
image="$shared/photos/camera_exif/metadata-extractor/Canon EOS 450D.jpg"  # 4272x2848, 12.2 MP
[ -d "$model" ] || { echo "bench/run search: no golden model at $model (set VF_SHARED)" >&2; exit 1; }
if [ "$do_build" = 1 ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target search_bench viewfinder -j2 >/dev/null
fi
work="$build/bench-search"
mkdir -p "$work"

synth_json="$("$build/search_bench" --dir "$work/synthetic-$photos" --synthetic "$photos" --model "$model" \
  --image "$image" --queries "$queries" --uploads "$uploads" --name "synthetic-$photos")"
echo "$synth_json"

flowers_json=null
if [ "$flowers" = 1 ]; then
  lib="$work/flowers17-small"
  if [ ! -f "$lib/catalog.sqlite3" ]; then
    echo "indexing flowers17 with the golden small model (once) ..." >&2
    "$build/viewfinder" index "$shared/photos/flowers17/images" --library "$lib" --model "$model" --quiet >&2
  fi
  flowers_json="$("$build/search_bench" --dir "$lib" --image "$image" --queries "$queries" --uploads "$uploads" --name flowers17)"
  echo "$flowers_json"
fi

/usr/bin/python3 - "$synth_json" "$flowers_json" <<'EOF'
import json, sys
s = json.loads(sys.argv[1]); f = json.loads(sys.argv[2])
def row(r):
    out = f"{r['library']:>18}  {r['photos']:>7} photos  id p50 {r['id']['p50_ms']:.2f} / p99 {r['id']['p99_ms']:.2f} ms" \
          f"  hybrid+filters p50 {r['hybrid']['p50_ms']:.2f} / p99 {r['hybrid']['p99_ms']:.2f} ms"
    if "upload" in r:
        out += f"  upload p50 {r['upload']['p50_ms']:.1f} ms vs engine alone {r['engine_alone']['p50_ms']:.1f} ms" \
               f" ({r['upload_over_engine_p50']:.3f}x; min {r['upload']['min_ms']:.1f} vs {r['engine_alone']['min_ms']:.1f} ms," \
               f" {r['upload_over_engine_min']:.3f}x)"
    return out
print(row(s))
if f: print(row(f))
goals = {"id_p50_under_20ms": s["id"]["p50_ms"] < 20, "hybrid_p50_under_20ms": s["hybrid"]["p50_ms"] < 20,
         "upload_within_1.15x_engine_p50": s.get("upload_over_engine_p50", 99) <= 1.15,
         "upload_within_1.15x_engine_min": s.get("upload_over_engine_min", 99) <= 1.15}
print(json.dumps({"bench": "search", "synthetic": s, "flowers17": f, "goals_met": goals}))
EOF
