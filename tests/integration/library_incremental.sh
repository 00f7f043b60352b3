#!/usr/bin/env bash
# Indexing flowers17 (680 photos) with the tiny golden model, then again: the second run must
# find everything unchanged and embed nothing. Also checks counts, failures and `info`.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
PY=/usr/bin/python3
MODEL="$VF_SHARED/golden/models/tiny"
PHOTOS="$VF_SHARED/photos/flowers17/images"
TMP=$(mktemp -d /tmp/vf-lib-incr-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LIB="$TMP/lib"

field() { $PY -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

t0=$(date +%s.%N)
"$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --json > "$TMP/run1.jsonl"
t1=$(date +%s.%N)
[ "$(field embedded < "$TMP/run1.jsonl")" = 680 ] || { echo "first run embedded $(field embedded < "$TMP/run1.jsonl"), want 680"; exit 1; }
[ "$(field failed < "$TMP/run1.jsonl")" = 0 ] || { echo "unexpected failures"; tail -1 "$TMP/run1.jsonl"; exit 1; }

"$VF_BIN" index "$PHOTOS" --library "$LIB" --model "$MODEL" --json > "$TMP/run2.jsonl"
t2=$(date +%s.%N)
for k in embedded added changed moved deleted reembedded failed; do
  v=$(field $k < "$TMP/run2.jsonl")
  [ "$v" = 0 ] || { echo "second run: $k = $v, want 0"; tail -1 "$TMP/run2.jsonl"; exit 1; }
done
[ "$(field unchanged < "$TMP/run2.jsonl")" = 680 ] || { echo "second run: unchanged != 680"; exit 1; }

"$VF_BIN" info --library "$LIB" --json > "$TMP/info.json"
$PY - "$TMP/info.json" <<'PYEOF'
import json, sys
i = json.load(open(sys.argv[1]))
assert i["photos"] == 680 and i["embedded"] == 680 and i["index_vectors"] == 680, i
assert i["dim"] == 64 and i["index_type"] == "Flat" and i["pooling"] == "cls", i
assert i["thumbs_bytes"] > 0 and i["catalog_bytes"] > 0 and i["index_bytes"] > 0, i
PYEOF
# Human output and --help work too.
"$VF_BIN" info --library "$LIB" | grep -q "680 embedded"
"$VF_BIN" index --help | grep -q -- "--index-type"
# A missing folder is a one-line error, exit 1.
if "$VF_BIN" index "$TMP/nope" --library "$LIB" --model "$MODEL" 2> "$TMP/err"; then echo "missing folder accepted"; exit 1; fi
grep -q "no such file" "$TMP/err"
echo "first run $(echo "$t1 - $t0" | bc) s, unchanged re-run $(echo "$t2 - $t1" | bc) s"
