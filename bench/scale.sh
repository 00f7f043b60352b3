#!/usr/bin/env bash
# Scale benchmark: bench/run scale [--n N] [--dim D] [--queries Q] [--stages a,b] [--candidates LIST]
#                                  [--nlist L] [--train T] [--no-build] [--from-json FILE] [--milvus]
#   On one set of clustered synthetic 768-d embeddings (bench/scale_data.h; fixed seed, made in
#   memory, never stored), grown in stages (default n/4, n/2, n), for FAISS-Flat (exact) and the
#   compressed candidates (IVF-PQ with a re-rank from full vectors, IVF-SQ4, IVF-SQ8; HNSW32,SQ8
#   up to --hnsw-max-n, default 200k): insert rate, train/build time, p50/p99 single-query latency
#   on one thread (wall and thread CPU), with and without a filter (an IDSelector allowing 10% of
#   ids), recall@10 vs exact search, index bytes per vector (serialized) and RSS growth.
#   It picks, per compressed index, the fastest setting with recall@10 >= 0.95, checks the goals
#   (1M: p50 < 10 ms at recall@10 >= 0.95, <= 100 B/vector) and fits latency and memory vs n to
#   project 10M. Default n = 1,000,000 (about 3.5 GB RAM, tens of minutes on 2 busy cores);
#   --n 100000 --nlist 1024 is a quick look.
#   --rerank-rows R (default 200000; 0 skips): also time the re-rank where Viewfinder keeps the
#   full vectors, R-row SQLite table shaped like the catalog (fp16 embedding by id, page cache warm).
#   Milvus column: --milvus runs bench/scale_milvus.sh with the same --n/--dim/--queries/--seed
#   (its own Milvus server, the same vectors and 10% filter; --milvus-index SPEC picks the index
#   as the store URL's index= does, default HNSW, e.g. 'IVF_SQ8&nlist=1024' with
#   --milvus-nprobe 16,32,64; --milvus-rerank 0,30,100 re-ranks that many candidates exactly, as
#   the searcher does); it prints {"rows": [...]} with "engine": "milvus", merged below.
#   Without it: "milvus": "not run".
# Last line: one JSON object. Goals are reported, never asserted (docs/scale.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${VF_BUILD_DIR:-$root/build}"
bench_args=()
do_build=1
from_json=""
milvus=0
milvus_args=()
n=1000000
rerank_rows=200000
dim=768
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) do_build=0; shift ;;
    --from-json) from_json="$2"; shift 2 ;;  # re-summarise a saved scale_bench JSON (no run)
    --milvus) milvus=1; shift ;;
    --milvus-index|--milvus-nprobe|--milvus-rerank|--milvus-settle) milvus_args+=("$1" "$2"); shift 2 ;;
    --n) n="$2"; shift 2 ;;
    --rerank-rows) rerank_rows="$2"; shift 2 ;;
    --dim) dim="$2"; bench_args+=("$1" "$2"); shift 2 ;;
    --queries|--stages|--candidates|--nlist|--pq-m|--train|--nprobe|--rerank|--ef|--filter|--flat-queries|--hnsw-max-n|--seed)
      bench_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run scale: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# Spinning OpenMP threads wreck timings on a busy machine; Debian's OpenBLAS 0.3.21 does not
# know this CPU and falls back to SSE3 kernels unless told (docs/benchmarks.md "Notes").
export OMP_WAIT_POLICY=PASSIVE
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
out="$build/bench-scale"
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "$from_json" ]; then
  faiss_json="$from_json"
else
  if [ "$do_build" = 1 ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" --target scale_bench -j2 >/dev/null
  fi
  faiss_json="$out/faiss-$n.json"
  "$build/scale_bench" --n "$n" "${bench_args[@]}" > "$faiss_json.tmp"
  mv "$faiss_json.tmp" "$faiss_json"
fi
rerank_json=""
if [ "$rerank_rows" -gt 0 ] && [ -x "$build/scale_bench" ]; then
  # What the re-rank costs where the full vectors live: point reads from a catalog-shaped SQLite.
  rerank_json="$out/rerank-$rerank_rows.json"
  "$build/scale_bench" rerank-cost --rows "$rerank_rows" --dim "$dim" > "$rerank_json"
fi
milvus_json=""
if [ "$milvus" = 1 ]; then
  # Hook for the Milvus column: same vectors (same generator and seed), same row schema.
  if [ -x "$here/scale_milvus.sh" ]; then
    milvus_json="$out/milvus-$n.json"
    bash "$here/scale_milvus.sh" --n "$n" "${bench_args[@]}" "${milvus_args[@]}" | tail -1 > "$milvus_json"
  else
    echo "bench/run scale: --milvus: bench/scale_milvus.sh is missing; Milvus column skipped" >&2
  fi
fi
exec /usr/bin/python3 "$here/scale_report.py" "$faiss_json" "$milvus_json" "$rerank_json" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
