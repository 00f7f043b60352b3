#!/usr/bin/env bash
# Crash safety: kill -9 the indexer at random moments (>= 20 times) while it indexes flowers17
# with the tiny model, then let it finish. Committed work must never be lost or duplicated:
# at the end the catalog holds each photo exactly once and index.faiss holds exactly the
# catalog's ids. Between kills, a reader must always be able to open the library.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
PY=/usr/bin/python3
MODEL="$VF_SHARED/golden/models/tiny"
PHOTOS="$VF_SHARED/photos/flowers17/images"
KILLS=${VF_KILLS:-24}
TMP=$(mktemp -d /tmp/vf-lib-kill9-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LIB="$TMP/lib"
N=$(ls "$PHOTOS" | wc -l)

prev=0
for i in $(seq 1 "$KILLS"); do
  "$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --commit-every 8 --batch 4 --quiet > /dev/null 2>&1 &
  pid=$!
  # Random moment: 0.1 .. 3 s (start-up, scan, mid-batch, mid-commit, index write).
  sleep "$($PY -c "import random; print(round(random.uniform(0.1, 3.0), 3))")"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # A reader opens the library after every crash (catalog readable, indexes consistent).
  if [ -f "$LIB/catalog.sqlite3" ]; then
    "$VF_BIN" info --library "$LIB" --json > "$TMP/info.json"
    now=$($PY -c "import json; i=json.load(open('$TMP/info.json')); assert i['index_vectors']==i['embedded'], i; print(i['embedded'])")
    [ "$now" -ge "$prev" ] || { echo "kill $i: committed photos went from $prev to $now"; exit 1; }
    prev=$now
  fi
done
echo "after $KILLS kills: $prev of $N photos committed"

"$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --json > "$TMP/final.jsonl"
$PY - "$LIB" "$N" "$TMP/final.jsonl" <<'PYEOF'
import json, sqlite3, sys, faiss, numpy as np
lib, n = sys.argv[1], int(sys.argv[2])
summary = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])
db = sqlite3.connect(f"file:{lib}/catalog.sqlite3?mode=ro", uri=True)
rows = db.execute("SELECT id, path, embedding IS NOT NULL FROM photos").fetchall()
paths = [r[1] for r in rows]
assert len(rows) == n, f"catalog has {len(rows)} rows, want {n}"
assert len(set(paths)) == n, "duplicate paths"
assert all(r[2] for r in rows), "rows without embedding"
ids = sorted(r[0] for r in rows)
# The final run resumed: it embedded only what the killed runs had not committed.
assert summary["embedded"] + summary["unchanged"] == n, summary
index = faiss.read_index(f"{lib}/index.faiss")
assert index.ntotal == n, index.ntotal
faiss_ids = sorted(faiss.vector_to_array(faiss.downcast_index(index).id_map).tolist())
assert faiss_ids == ids, "index ids != catalog ids"
stamp = json.load(open(f"{lib}/index.faiss.stamp"))
gen = int(db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
assert stamp["generation"] == gen and stamp["count"] == n, (stamp, gen)
color = faiss.read_index(f"{lib}/color.faiss")
assert color.ntotal == n
print(f"ok: {n} photos, ids match, final run embedded {summary['embedded']}")
PYEOF
