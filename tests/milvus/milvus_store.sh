#!/usr/bin/env bash
# The Milvus client against a real Milvus standalone server: starts one through
# scripts/milvus.sh (own data dir under build/, own port), runs the client tests, restarts
# the server, checks the data survived, stops it. Exit 77 (ctest SKIP) when the build has
# no Milvus backend (VF_MILVUS=OFF).
set -euo pipefail
ROOT=${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${VF_BUILD_DIR:-$ROOT/build}
BIN=${VF_MILVUS_CLIENT_TEST:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "SKIP: this build has no Milvus backend (VF_MILVUS=OFF; see cmake output for what is missing)"
  exit 77
fi
DATA=$BUILD/milvus-test-data
# A port of its own, away from a user's 19530.
port=19541
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
export VF_MILVUS_PORT=$port
rm -rf "$DATA"
trap 'bash "$ROOT/scripts/milvus.sh" stop "$DATA" || true' EXIT
t0=$SECONDS
addr=$(bash "$ROOT/scripts/milvus.sh" start "$DATA")
echo "Milvus up at $addr after $((SECONDS - t0)) s"
export VF_MILVUS_ADDR=$addr
"$BIN" --gtest_filter='MilvusBeforeRestart.*'
# Filtered searches give the same ids as the FAISS path, for every filter kind.
if [ -n "${VF_MILVUS_FILTERS_TEST:-}" ]; then "$VF_MILVUS_FILTERS_TEST"; fi
# Every index type the store URL can ask for, rebuilt on one collection, searched.
if [ -n "${VF_MILVUS_INDEX_TEST:-}" ]; then
  t2=$SECONDS
  "$VF_MILVUS_INDEX_TEST" --gtest_filter='MilvusIndexes.*'
  echo "index types tested in $((SECONDS - t2)) s"
fi
bash "$ROOT/scripts/milvus.sh" stop "$DATA"
t1=$SECONDS
bash "$ROOT/scripts/milvus.sh" start "$DATA" >/dev/null
echo "Milvus restarted in $((SECONDS - t1)) s"
"$BIN" --gtest_filter='MilvusAfterRestart.*'
echo "total $((SECONDS - t0)) s"
