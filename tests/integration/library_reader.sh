#!/usr/bin/env bash
# A reader (viewfinder info, a read-only open) works while another process indexes: it sees
# the last committed batch, with an index that holds exactly the committed vectors; a second
# writer is refused with a clear message.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
PY=/usr/bin/python3
MODEL="$VF_SHARED/golden/models/tiny"
PHOTOS="$VF_SHARED/photos/flowers17/images"
TMP=$(mktemp -d /tmp/vf-lib-reader-XXXXXX)
LIB="$TMP/lib"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$TMP"' EXIT

# 160 photos: enough batches to read in the middle of, short enough for the fast tier.
mkdir "$TMP/photos"
# sed reads to the end, unlike head, so the producer never dies of SIGPIPE under pipefail.
ls "$PHOTOS" | sed -n 1,160p | while read -r f; do cp "$PHOTOS/$f" "$TMP/photos/"; done
PHOTOS="$TMP/photos"
"$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --commit-every 16 --batch 4 --quiet > "$TMP/out" 2>&1 &
pid=$!
reads=0; during=0; prev=0; refused=0
while kill -0 $pid 2>/dev/null; do
  if [ -f "$LIB/catalog.sqlite3" ]; then
    if "$VF_BIN" info --library "$LIB" --json > "$TMP/info.json" 2> "$TMP/err"; then
      # The index is loaded at open and the counts read a moment later, while the writer goes
      # on committing: the index may trail the counts, never lead them, and never go back.
      n=$($PY -c "import json; i=json.load(open('$TMP/info.json')); assert $prev <= i['index_vectors'] <= i['embedded'], i; print(i['index_vectors'])")
      [ "$n" -ge "$prev" ] || { echo "reader saw $n after $prev"; exit 1; }
      prev=$n; reads=$((reads+1))
      [ "$n" -gt 0 ] && [ "$n" -lt 160 ] && during=$((during+1))
    else
      # The catalog may not have its schema yet in the first instant; anything else is a bug.
      grep -q "not a Viewfinder catalog\|no library" "$TMP/err" || { cat "$TMP/err"; exit 1; }
    fi
    if [ $refused = 0 ] && [ "$prev" -gt 0 ]; then
      if "$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --quiet 2> "$TMP/err2"; then
        # It may legitimately have run after the first finished.
        kill -0 $pid 2>/dev/null && { echo "second writer was not refused"; exit 1; }
      else
        grep -q "another viewfinder process is indexing" "$TMP/err2" || { cat "$TMP/err2"; exit 1; }
      fi
      refused=1
    fi
  fi
  sleep 0.2
done
wait $pid
pid=
echo "reads: $reads, of which $during saw a partial library"
[ "$during" -ge 1 ] || { echo "no read happened during indexing"; exit 1; }
"$VF_BIN" info --library "$LIB" --json | $PY -c "import json,sys; i=json.load(sys.stdin); assert i['embedded']==160 and i['index_vectors']==160, i"
