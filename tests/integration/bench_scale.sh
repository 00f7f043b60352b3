#!/usr/bin/env bash
# bench/run scale end to end at a toy size (64-d, 4,000 vectors, seconds): its last line is one
# JSON object with a row per index, stage and setting; exact search agrees with its own ground
# truth with and without the filter (so the filtered ground truth and the selector agree);
# an IVF that probes every list with near-exact SQ8 codes finds the true neighbours; the
# compressed codes are smaller than the exact index; the Milvus column says it was not run.
# Speed is never asserted (docs/scale.md).
set -euo pipefail
root="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
export VF_BUILD_DIR="${VF_BUILD_DIR:-$root/build}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
bash "$root/bench/run" scale --no-build --n 4000 --dim 64 --queries 20 --flat-queries 10 --nlist 16 \
  --train 2000 --pq-m 8 --nprobe 4,16 --rerank 0,20 --candidates flat,ivfpq,ivfsq8 --rerank-rows 2000 > "$out"
/usr/bin/python3 - "$out" <<'EOF'
import json, sys
doc = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert doc["bench"] == "scale", doc.get("bench")
rows = doc["rows"]
assert {r["n"] for r in rows} == {1000, 2000, 4000}, sorted({r["n"] for r in rows})
assert {r["index"] for r in rows} == {"Flat", "IVF16,PQ8", "IVF16,SQ8"}, {r["index"] for r in rows}
flat = [r for r in rows if r["index"] == "Flat"]
for r in flat:
    assert r["plain"]["recall_at_10"] == 1.0 and r["filtered"]["recall_at_10"] == 1.0, r
    assert r["bytes_per_vector"] == 64 * 4, r["bytes_per_vector"]
full_probe = [r for r in rows if r["index"] == "IVF16,SQ8" and r["setting"].get("nprobe") == 16
              and "selector" not in r["setting"]]
assert full_probe and all(r["plain"]["recall_at_10"] >= 0.9 for r in full_probe), full_probe
bitmap = [r for r in rows if r["setting"].get("selector") == "bitmap"]
assert bitmap and all(r["filtered"]["supported"] for r in bitmap), bitmap
at_max = {r["index"]: r["bytes_per_vector"] for r in rows if r["n"] == 4000}
assert at_max["IVF16,PQ8"] < at_max["IVF16,SQ8"] < at_max["Flat"], at_max
assert doc["rerank_from_sqlite"]["rows"] == 2000 and len(doc["rerank_from_sqlite"]["per_rerank"]) == 3
assert doc["milvus"].startswith("not run"), doc["milvus"]
assert "projection_10m" in doc and "Flat" in doc["projection_10m"]
print("bench scale: ok,", len(rows), "rows")
EOF
