#!/usr/bin/env bash
# `viewfinder inspect` on good and broken files mixed: every broken file is reported with a
# one-line reason naming it, the good ones are still inspected, and the exit code is 1.
set -euo pipefail
: "${VF_BIN:?}" "${VF_SHARED:?}"
photos="$VF_SHARED/photos"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

files=("$photos/flowers17/images/image_0001.jpg" "$photos/broken/beach.jpg"
       "$photos/raw/dng/canon_eos_6d.dng" "$photos/broken/heif_fuzzed/NegativeArraySizeException.ItemInfoBox.init.heif"
       "$photos/broken/exif-samples-corrupted.jpg" "$photos/formats/photoprism/purple.tiff"
       "$photos/README.md")
set +e
"$VF_BIN" inspect "${files[@]}" >"$tmp/out" 2>"$tmp/err"
rc=$?
"$VF_BIN" inspect --json "${files[@]}" >"$tmp/json" 2>/dev/null
rc_json=$?
set -e
[ "$rc" = 1 ] || { echo "expected exit code 1, got $rc"; exit 1; }
[ "$rc_json" = 1 ] || { echo "expected exit code 1 with --json, got $rc_json"; exit 1; }
for bad in beach.jpg NegativeArraySizeException.ItemInfoBox.init.heif exif-samples-corrupted.jpg README.md; do
  n=$(grep -c "$bad" "$tmp/err" || true)
  [ "$n" = 1 ] || { echo "expected one error line for $bad, got $n:"; cat "$tmp/err"; exit 1; }
done
[ "$(wc -l <"$tmp/err")" = 4 ] || { echo "expected exactly 4 error lines:"; cat "$tmp/err"; exit 1; }
for good in image_0001.jpg canon_eos_6d.dng purple.tiff; do
  grep -q "$good" "$tmp/out" || { echo "good file $good missing from output"; cat "$tmp/out"; exit 1; }
done
/usr/bin/python3 - "$tmp/json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 7, rows
ok = [r["ok"] for r in rows]
assert ok == [True, False, True, False, False, True, False], ok
for r in rows:
    if not r["ok"]:
        assert r["error"].startswith(r["path"]) and "\n" not in r["error"], r
    else:
        assert len(r["content_hash"]) == 32 and r["width"] > 0, r
print("inspect: broken files reported, good files inspected")
PY
"$VF_BIN" inspect --help | grep -q -- "--json"
echo OK
