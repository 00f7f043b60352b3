#!/usr/bin/env bash
# The Milvus column of bench/run scale: bench/scale_milvus.sh [--n N] [--dim D] [--queries Q]
#   [--seed S] [--filter F] [--milvus-index SPEC] [--ef a,b] [--milvus-nprobe a,b] [--milvus-rerank 0,30,100]
#   [--milvus-settle S]
#   (other scale options are ignored). SPEC is what the store URL takes after `index=`
#   (store/milvus/milvus_index.h): HNSW (default), 'IVF_SQ8&nlist=1024', 'IVF_PQ&m=64', ...
# Starts a Milvus standalone server of its own (scripts/milvus.sh: data dir
# build/bench-scale/milvus-data, a free port from 19561), runs bench/milvus/scale_milvus_bench.cpp
# on the same synthetic vectors as scale_bench (insert rate, index build, p50/p99 with and
# without a 10% filter, recall@10 vs exact, memory per vector), stops the server, and prints as
# its last line {"rows": [...], ...} with "engine": "milvus" (bench/scale_report.py merges it).
# Exit 77 when the build has no Milvus backend (VF_MILVUS=OFF).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${VF_BUILD_DIR:-$root/build}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --n|--dim|--queries|--seed|--filter|--ef) args+=("$1" "$2"); shift 2 ;;
    --milvus-index) args+=(--index "$2"); shift 2 ;;
    --milvus-nprobe) args+=(--nprobe "$2"); shift 2 ;;  # IVF settings (--nprobe is FAISS's)
    --milvus-settle) args+=(--settle "$2"); shift 2 ;;  # s to wait for compactions to be re-indexed (120)
    --milvus-rerank) args+=(--rerank "$2"); shift 2 ;;  # candidates re-ranked exactly (--rerank is FAISS's)
    --no-build) VF_NO_BUILD=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) shift; [ $# -gt 0 ] && [ "${1#--}" = "$1" ] && shift ;;  # a FAISS-only option and its value
    *) echo "scale_milvus.sh: unexpected argument $1" >&2; exit 2 ;;
  esac
done
if [ "${VF_NO_BUILD:-0}" != 1 ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target scale_milvus_bench -j2 >/dev/null 2>&1 || true
fi
if [ ! -x "$build/scale_milvus_bench" ]; then
  echo "scale_milvus.sh: no $build/scale_milvus_bench (this build has no Milvus backend: VF_MILVUS=OFF)" >&2
  exit 77
fi
data="$build/bench-scale/milvus-data"
port=19561
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
rm -rf "$data"
mkdir -p "$data"
trap 'bash "$root/scripts/milvus.sh" stop "$data" >&2 || true' EXIT
t0=$SECONDS
addr=$(VF_MILVUS_PORT=$port bash "$root/scripts/milvus.sh" start "$data")
echo "scale_milvus.sh: Milvus at $addr after $((SECONDS - t0)) s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
# shellcheck disable=SC1090,SC1091
. "$data/viewfinder-milvus.env"
export OMP_WAIT_POLICY=PASSIVE
"$build/scale_milvus_bench" --addr "$addr" --server-pid "$SERVER_PID" --data-dir "$data" "${args[@]}"
