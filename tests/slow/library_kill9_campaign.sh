#!/usr/bin/env bash
# The long crash campaign: 100 kill -9s at random moments while indexing flowers17 with the
# ViT-S golden model (slower batches, so kills land mid-forward, mid-commit and mid-index-write
# too), with a model change half-way (re-embedding must also survive kills), then a finishing
# run and exact checks: catalog == index ids, no duplicates, every photo embedded once with the
# final model.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
KILLS=${VF_KILLS:-100}
PY=/usr/bin/python3
PHOTOS="$VF_SHARED/photos/flowers17/images"
TMP=$(mktemp -d /tmp/vf-lib-campaign-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LIB="$TMP/lib"
N=$(ls "$PHOTOS" | wc -l)
for i in $(seq 1 "$KILLS"); do
  model="$VF_SHARED/golden/models/tiny"
  [ "$i" -gt $((KILLS / 2)) ] && model="$VF_SHARED/golden/models/small"
  "$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$model" --commit-every 8 --batch 4 --quiet > /dev/null 2>&1 &
  pid=$!
  sleep "$($PY -c "import random; print(round(random.uniform(0.05, 4.0), 3))")"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f "$LIB/catalog.sqlite3" ] && "$VF_BIN" info --library "$LIB" --json > /dev/null
done
"$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$VF_SHARED/golden/models/small" --json > "$TMP/final.jsonl"
$PY - "$LIB" "$N" <<'PYEOF'
import json, sqlite3, sys, faiss
lib, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(f"file:{lib}/catalog.sqlite3?mode=ro", uri=True)
model = db.execute("SELECT value FROM meta WHERE key='model_id'").fetchone()[0]
rows = db.execute("SELECT id, path, model_id, length(embedding) FROM photos").fetchall()
assert len(rows) == n and len({r[1] for r in rows}) == n, len(rows)
assert all(r[2] == model and r[3] == 384 * 2 for r in rows), "rows not re-embedded with the final model"
index = faiss.read_index(f"{lib}/index.faiss")
ids = sorted(faiss.vector_to_array(faiss.downcast_index(index).id_map).tolist())
assert ids == sorted(r[0] for r in rows) and index.d == 384
print(f"ok: {n} photos after the campaign")
PYEOF
