#!/usr/bin/env bash
# A Milvus-backed library against one real Milvus server (started once for every check):
#   1. `index --store milvus://...` of flowers17 (tiny model); a FAISS library of the same
#      photos for comparison; `info` needs no flag afterwards (the store is remembered);
#   2. search by example: same top 10 on Milvus as on FAISS; dupes and clusters run (they
#      read all vectors from Milvus in batches); the index changed on the store URL
#      (IVF_SQ8, back to HNSW: rebuilt in place, remembered, same answers; a bad one refused);
#   3. `migrate --to milvus://...` of the FAISS library (no re-embedding), `--to faiss` back;
#   4. Milvus down mid-run: the index run fails naming the address; after a restart the
#      next run resumes and Milvus's count equals the catalog's;
#   5. kill -9 of the indexer mid-run: the next run resumes, counts equal;
#   6. three shard workers (each photo once; a model change on one worker is refused);
#   7. a model change (same and other dimension): the collection holds the new model only.
# Exit 77 (ctest SKIP) without the Milvus backend.
set -euo pipefail
ROOT=${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${VF_BUILD_DIR:-$ROOT/build}
VF_BIN=${VF_BIN:-$BUILD/viewfinder}
SHARED=${VF_SHARED:-$ROOT/../shared}
if [ -z "${VF_MILVUS_CLIENT_TEST:-}" ]; then
  echo "SKIP: this build has no Milvus backend (VF_MILVUS=OFF)"; exit 77
fi
PY=/usr/bin/python3
MODEL="$SHARED/golden/models/tiny"
PHOTOS="$SHARED/photos/flowers17/images"
DATA=$BUILD/milvus-lib-test-data
TMP=$(mktemp -d /tmp/vf-milvus-lib-XXXXXX)
port=19561
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
export VF_MILVUS_PORT=$port
rm -rf "$DATA"
trap 'bash "$ROOT/scripts/milvus.sh" stop "$DATA" >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
t0=$SECONDS
addr=$(bash "$ROOT/scripts/milvus.sh" start "$DATA")
echo "Milvus up at $addr after $((SECONDS - t0)) s"
last() { tail -1 "$1" | $PY -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
info() { "$VF_BIN" info --library "$1" --json | $PY -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
# The top 10 of a search by example, as paths (ids differ between libraries).
top_ids() { "$VF_BIN" search "$PHOTOS/$2" --library "$1" -k 10 --json | $PY -c "
import json,sys; print(' '.join(h['path'].rsplit('/', 1)[-1] for h in json.load(sys.stdin)['hits']))"; }
groups() { $PY -c "
import json,sys; print(sorted(sorted(m['path'] for m in g['members']) for g in json.load(open(sys.argv[1]))['groups']))" "$1"; }

# 1. index into Milvus and into FAISS
s=$(date +%s.%N)
"$VF_BIN" index "$PHOTOS" --library "$TMP/m" --model "$MODEL" --store "milvus://$addr/flowers" --json > "$TMP/m.jsonl"
m_s=$(echo "$(date +%s.%N) - $s" | bc)
s=$(date +%s.%N)
"$VF_BIN" index "$PHOTOS" --library "$TMP/f" --model "$MODEL" --json > "$TMP/f.jsonl"
f_s=$(echo "$(date +%s.%N) - $s" | bc)
[ "$(last "$TMP/m.jsonl" embedded)" = 680 ] || { echo "milvus run embedded $(last "$TMP/m.jsonl" embedded)"; exit 1; }
[ "$(info "$TMP/m" index_type)" = "milvus://$addr/flowers" ] || { echo "store not remembered: $(info "$TMP/m" index_type)"; exit 1; }
[ "$(info "$TMP/m" index_vectors)" = 680 ] || { echo "milvus holds $(info "$TMP/m" index_vectors), want 680"; exit 1; }
[ ! -e "$TMP/m/index.faiss" ] || { echo "a Milvus library wrote index.faiss"; exit 1; }
echo "index 680 photos: milvus ${m_s} s, faiss ${f_s} s"

# 2. the same answers from both stores
for f in "$PHOTOS"/*; do first=${f##*/}; break; done
a=$(top_ids "$TMP/m" "$first"); b=$(top_ids "$TMP/f" "$first")
[ "$a" = "$b" ] || { echo "search differs: milvus [$a] faiss [$b]"; exit 1; }
s=$(date +%s.%N); for i in 1 2 3 4 5; do top_ids "$TMP/m" "$first" >/dev/null; done
echo "search (CLI, 5 runs incl. start-up): milvus $(echo "($(date +%s.%N) - $s)/5" | bc -l | cut -c1-5) s per run"
"$VF_BIN" dupes --library "$TMP/m" --json > "$TMP/dupes_m.json"
"$VF_BIN" dupes --library "$TMP/f" --json > "$TMP/dupes_f.json"
[ "$(groups "$TMP/dupes_m.json")" = "$(groups "$TMP/dupes_f.json")" ] || { echo "dupes differ between Milvus and FAISS"; exit 1; }
"$VF_BIN" clusters --library "$TMP/m" --k 5 --no-store --json > /dev/null

# 2b. the index chosen on the store URL: the library remembers the whole URL, the collection's
#     index is rebuilt in place (no re-embedding: nothing new is embedded), answers stay equal;
#     then back to HNSW.
for want in "IVF_SQ8&nlist=16" "HNSW&M=16"; do
  url="milvus://$addr/flowers?index=$want"
  "$VF_BIN" index "$PHOTOS" --library "$TMP/m" --store "$url" --json > "$TMP/ix.jsonl" 2> "$TMP/ix.err"
  grep -q "rebuilding the collection's index" "$TMP/ix.err" || { echo "no rebuild for $want: $(cat "$TMP/ix.err")"; exit 1; }
  [ "$(last "$TMP/ix.jsonl" embedded)" = 0 ] || { echo "re-embedded for an index change"; exit 1; }
  [ "$(info "$TMP/m" index_type)" = "$url" ] || { echo "URL not remembered: $(info "$TMP/m" index_type)"; exit 1; }
  [ "$(info "$TMP/m" index_vectors)" = 680 ] || { echo "count changed with the index"; exit 1; }
  [ "$(top_ids "$TMP/m" "$first")" = "$b" ] || { echo "search differs on $want"; exit 1; }
done
if "$VF_BIN" index "$PHOTOS" --library "$TMP/m" --store "milvus://$addr/flowers?index=IVF_PQ&m=7" --json \
  > /dev/null 2> "$TMP/ix.err"; then echo "an IVF_PQ m that does not divide the dimension was accepted"; exit 1; fi
grep -q "must divide" "$TMP/ix.err" || { echo "unclear error: $(cat "$TMP/ix.err")"; exit 1; }
[ "$(info "$TMP/m" index_type)" = "milvus://$addr/flowers?index=HNSW&M=16" ] || { echo "a refused URL was remembered"; exit 1; }
echo "index changed on the store URL: IVF_SQ8 and back to HNSW, same answers"

# 3. migrate FAISS -> Milvus -> FAISS
"$VF_BIN" migrate --library "$TMP/f" --to "milvus://$addr/migrated" --json | tee "$TMP/mig.json"
[ "$(info "$TMP/f" index_vectors)" = 680 ] && [ "$(info "$TMP/f" index_type)" = "milvus://$addr/migrated" ]
[ "$(top_ids "$TMP/f" "$first")" = "$b" ] || { echo "search changed after migrate"; exit 1; }
"$VF_BIN" migrate --library "$TMP/f" --to faiss --json
[ "$(info "$TMP/f" index_type)" = Flat ] && [ -e "$TMP/f/index.faiss" ]
[ "$(top_ids "$TMP/f" "$first")" = "$b" ] || { echo "search changed after migrate back"; exit 1; }

# 4. Milvus down: before a run (the open fails naming the address), and stopped in the
#    middle of one (the run fails naming it); after a restart the next run resumes and
#    Milvus's count equals the catalog's.
mkdir -p "$TMP/more"
# One byte after the JPEG's end: new content (embedded, not taken as a copy), same picture.
for f in "$PHOTOS"/*; do { cat "$f"; printf '\0'; } > "$TMP/more/x_${f##*/}"; done
bash "$ROOT/scripts/milvus.sh" stop "$DATA" >/dev/null
if "$VF_BIN" index "$PHOTOS" --library "$TMP/m" --model "$MODEL" 2> "$TMP/err"; then
  echo "indexing with Milvus down succeeded?"; exit 1; fi
grep -q "$addr" "$TMP/err" || { echo "error does not name the address:"; cat "$TMP/err"; exit 1; }
echo "Milvus down: $(tail -1 "$TMP/err")"
bash "$ROOT/scripts/milvus.sh" start "$DATA" >/dev/null
"$VF_BIN" index "$PHOTOS" "$TMP/more" --library "$TMP/m" --model "$MODEL" --commit-every 16 2> "$TMP/err2" > /dev/null &
pid=$!
for _ in $(seq 1500); do
  n=$(sqlite3 "$TMP/m/catalog.sqlite3" "SELECT count(*) FROM photos WHERE embedding IS NOT NULL" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 760 ] && break; sleep 0.2; done
bash "$ROOT/scripts/milvus.sh" stop "$DATA" >/dev/null
if wait $pid; then
  echo "note: the run finished before Milvus stopped"
else
  grep -q "$addr" "$TMP/err2" || { echo "mid-run error does not name the address:"; cat "$TMP/err2"; exit 1; }
  echo "Milvus stopped mid-run at $n embedded: $(tail -1 "$TMP/err2")"
fi
bash "$ROOT/scripts/milvus.sh" start "$DATA" >/dev/null
"$VF_BIN" index "$PHOTOS" "$TMP/more" --library "$TMP/m" --model "$MODEL" --json > /dev/null
[ "$(info "$TMP/m" embedded)" = 1360 ] && [ "$(info "$TMP/m" index_vectors)" = 1360 ] || {
  echo "after restart: catalog $(info "$TMP/m" embedded) vs milvus $(info "$TMP/m" index_vectors), want 1360"; exit 1; }

# 5. kill -9 of the indexer mid-run
"$VF_BIN" index "$PHOTOS" --library "$TMP/k" --model "$MODEL" --store "milvus://$addr/killed" --json > /dev/null &
pid=$!
for _ in $(seq 100); do
  n=$(sqlite3 "$TMP/k/catalog.sqlite3" "SELECT count(*) FROM photos WHERE embedding IS NOT NULL" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 100 ] && break; sleep 0.2; done
kill -9 $pid; wait $pid 2>/dev/null || true
echo "killed the indexer at $(sqlite3 "$TMP/k/catalog.sqlite3" "SELECT count(*) FROM photos WHERE embedding IS NOT NULL") embedded"
"$VF_BIN" index "$PHOTOS" --library "$TMP/k" --model "$MODEL" --json > "$TMP/k.jsonl"
[ "$(info "$TMP/k" embedded)" = 680 ] && [ "$(info "$TMP/k" index_vectors)" = 680 ] || {
  echo "after kill -9: catalog $(info "$TMP/k" embedded), milvus $(info "$TMP/k" index_vectors)"; exit 1; }

# 6. three shard workers, one collection: each photo exactly once
for i in 0 1 2; do
  "$VF_BIN" index "$PHOTOS" --library "$TMP/w$i" --model "$MODEL" --store "milvus://$addr/sharded" --shard "$i/3" --json > "$TMP/w$i.jsonl" &
done
wait
total=0
for i in 0 1 2; do
  e=$(info "$TMP/w$i" embedded); v=$(info "$TMP/w$i" index_vectors)
  [ "$e" = "$v" ] && [ "$e" -gt 100 ] || { echo "worker $i: catalog $e, milvus $v"; exit 1; }
  total=$((total + e))
  sqlite3 "$TMP/w$i/catalog.sqlite3" "SELECT path FROM photos" >> "$TMP/paths"
done
[ "$total" = 680 ] || { echo "three workers embedded $total photos, want 680"; exit 1; }
[ "$(sort -u "$TMP/paths" | wc -l)" = 680 ] || { echo "workers overlap"; exit 1; }
# A re-run embeds nothing; a worker refuses another shard's catalog.
"$VF_BIN" index "$PHOTOS" --library "$TMP/w1" --model "$MODEL" --shard 1/3 --json > "$TMP/w1b.jsonl"
[ "$(last "$TMP/w1b.jsonl" embedded)" = 0 ]
if "$VF_BIN" index "$PHOTOS" --library "$TMP/w1" --model "$MODEL" --shard 2/3 2> "$TMP/err"; then echo "shard mix-up accepted"; exit 1; fi
grep -q "shard 1/3" "$TMP/err"
echo "shards: $(for i in 0 1 2; do printf '%s ' "$(info "$TMP/w$i" embedded)"; done)= 680"
# A model change on a shard worker while the other workers' vectors (previous model) are in
# the collection: refused before anything changes (one collection never mixes two models).
w1_model=$(info "$TMP/w1" model_id); w1_vectors=$(info "$TMP/w1" index_vectors)
if "$VF_BIN" index "$PHOTOS" --library "$TMP/w1" --model "$SHARED/golden/models/tiny-swiglu" --shard 1/3 2> "$TMP/err"; then
  echo "a model change on one shard worker was accepted"; exit 1; fi
grep -q "must not mix two models" "$TMP/err" || { echo "unclear model-change error:"; cat "$TMP/err"; exit 1; }
[ "$(info "$TMP/w1" model_id)" = "$w1_model" ] && [ "$(info "$TMP/w1" index_vectors)" = "$w1_vectors" ] || {
  echo "the refused model change altered worker 1"; exit 1; }
echo "shard model change refused: $(grep -o 'must not mix[^:]*' "$TMP/err")"

# 7. Model change on a Milvus library (FAISS starts an empty index): the collection is emptied
#    and filled with the new model's vectors, for the same dimension (tiny -> tiny-swiglu,
#    equal to a FAISS library of the new model) and for another one (-> small, 384-d).
mkdir -p "$TMP/sub"
for f in $(ls "$PHOTOS" | head -12); do cp "$PHOTOS/$f" "$TMP/sub/"; done
sub_first=$(ls "$TMP/sub" | head -1)
top_sub() { "$VF_BIN" search "$TMP/sub/$sub_first" --library "$1" -k 5 --json | $PY -c "
import json,sys; print(' '.join('%s:%.4f' % (h['path'].rsplit('/', 1)[-1], h['score']) for h in json.load(sys.stdin)['hits']))"; }
"$VF_BIN" index "$TMP/sub" --library "$TMP/mc" --model "$MODEL" --store "milvus://$addr/modelchange" --json > /dev/null
for m in tiny-swiglu small; do
  "$VF_BIN" index "$TMP/sub" --library "$TMP/mc" --model "$SHARED/golden/models/$m" --json > "$TMP/mc.jsonl"
  "$VF_BIN" index "$TMP/sub" --library "$TMP/mc_$m" --model "$SHARED/golden/models/$m" --json > /dev/null
  [ "$(last "$TMP/mc.jsonl" embedded)" = 12 ] && [ "$(info "$TMP/mc" index_vectors)" = 12 ] &&
    [ "$(info "$TMP/mc" dim)" = "$(info "$TMP/mc_$m" dim)" ] || {
    echo "model change to $m: embedded $(last "$TMP/mc.jsonl" embedded), milvus $(info "$TMP/mc" index_vectors)"; exit 1; }
  a=$(top_sub "$TMP/mc"); b=$(top_sub "$TMP/mc_$m")
  [ "$a" = "$b" ] || { echo "after the model change to $m: milvus [$a] faiss [$b]"; exit 1; }
  echo "model change to $m (dim $(info "$TMP/mc" dim)): Milvus answers as a FAISS library of $m"
done
echo "total $((SECONDS - t0)) s"
