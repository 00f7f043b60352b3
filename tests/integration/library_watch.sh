#!/usr/bin/env bash
# `viewfinder index DIR --watch` keeps the library current: files copied in are indexed,
# moved files keep their entry, deleted files are pruned; SIGTERM stops it cleanly.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
PY=/usr/bin/python3
MODEL="$VF_SHARED/golden/models/tiny"
PHOTOS="$VF_SHARED/photos/flowers17/images"
TMP=$(mktemp -d /tmp/vf-lib-watch-XXXXXX)
LIB="$TMP/lib"; DIR="$TMP/photos"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$DIR"
cp "$PHOTOS"/image_000{1,2,3}.jpg "$DIR/"

"$VF_BIN" index "$DIR" --library "$LIB" --model "$MODEL" --watch --json --debounce-ms 300 > "$TMP/out.jsonl" 2> "$TMP/err" &
pid=$!
wait_for() {  # wait_for PYTHON-CONDITION-ON-info
  for _ in $(seq 1 100); do
    if "$VF_BIN" info --library "$LIB" --json > "$TMP/info.json" 2>/dev/null &&
       $PY -c "import json; i=json.load(open('$TMP/info.json')); import sys; sys.exit(0 if ($1) else 1)"; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for: $1"; cat "$TMP/info.json" "$TMP/out.jsonl" "$TMP/err"; exit 1
}
for _ in $(seq 1 100); do grep -q '"watching"' "$TMP/out.jsonl" && break; sleep 0.1; done
grep -q '"watching"' "$TMP/out.jsonl" || { echo "watcher did not start"; cat "$TMP/err"; exit 1; }
wait_for "i['embedded'] == 3"

mkdir "$DIR/new"
cp "$PHOTOS"/image_008{1,2}.jpg "$DIR/new/"
wait_for "i['embedded'] == 5 and i['index_vectors'] == 5"

mv "$DIR/image_0001.jpg" "$DIR/new/moved.jpg"
rm "$DIR/image_0002.jpg"
wait_for "i['embedded'] == 4 and i['index_vectors'] == 4"
grep -q '"moved":1' "$TMP/out.jsonl" || { echo "move not detected as a move"; cat "$TMP/out.jsonl"; exit 1; }

# The share goes away (the root is suddenly empty): the re-index stops with an error naming
# the root, nothing is pruned, and watching goes on; when it comes back, nothing is embedded.
mkdir "$TMP/away"
mv "$DIR"/* "$TMP/away/"
for _ in $(seq 1 100); do grep -q '"event":"error"' "$TMP/out.jsonl" && break; sleep 0.2; done
grep -q "is empty, but the library holds 4 photos" "$TMP/out.jsonl" || { echo "no error for the empty root"; cat "$TMP/out.jsonl"; exit 1; }
kill -0 $pid || { echo "watcher died on the empty root"; exit 1; }
wait_for "i['embedded'] == 4"
before=$(grep -c '"event":"summary"' "$TMP/out.jsonl")
mv "$TMP/away"/* "$DIR/"
for _ in $(seq 1 100); do [ "$(grep -c '"event":"summary"' "$TMP/out.jsonl")" -gt "$before" ] && break; sleep 0.2; done
tail -1 "$TMP/out.jsonl" | grep -q '"embedded":0' || { echo "photos that came back were embedded again"; tail -3 "$TMP/out.jsonl"; exit 1; }
wait_for "i['embedded'] == 4 and i['index_vectors'] == 4"

kill -TERM $pid
wait $pid; rc=$?
pid=
[ $rc = 0 ] || { echo "watcher exit code $rc"; exit 1; }
echo "ok: watch added, moved, deleted; an emptied root stopped the re-index, not the watch"
