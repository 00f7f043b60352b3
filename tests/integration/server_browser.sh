#!/usr/bin/env bash
# Runs the web UI's browser test (tests/browser/ui.test.js) in real headless Chromium against
# a real `viewfinder serve` on a small library indexed with the golden tiny model.
# Screenshots: $VF_BUILD_DIR/artifacts/screenshots/.
set -euo pipefail
: "${VF_BIN:?VF_BIN must point at the viewfinder binary}"
: "${VF_SHARED:?VF_SHARED must point at the shared test data}"
SRC="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
BUILD="${VF_BUILD_DIR:-$SRC/build}"
NODE_MODULES="$SRC/tools/node/node_modules"
if ! command -v node >/dev/null || [ ! -x /usr/bin/chromium ] || [ ! -d "$NODE_MODULES/playwright-core" ]; then
  echo "SKIP: needs node, /usr/bin/chromium and tools/node/node_modules/playwright-core"
  exit 0
fi

TMP=$(mktemp -d /tmp/vf-browser.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PHOTOS="$TMP/photos"
mkdir -p "$PHOTOS/flowers" "$PHOTOS/cameras" "$PHOTOS/variants" "$PHOTOS/small"
# A 174x38 TIFF: an original smaller than a tile, which the UI must not blow up.
cp -p "$VF_SHARED/photos/formats/exif-samples/tiff/Arbitro.tiff" "$PHOTOS/small/"
for i in 0001 0002 0003 0004 0005 0006 0007 0008 0009 0010 0081 0082 0083 0084 0085 0086 0087 0088 0161 0162 0163 0164; do
  cp -p "$VF_SHARED/photos/flowers17/images/image_$i.jpg" "$PHOTOS/flowers/"
done
find "$VF_SHARED/photos/camera_exif" -type f -iname '*.jpg' -size +20k -size -400k | sort | sed -n 1,8p |
  while read -r f; do cp -p "$f" "$PHOTOS/cameras/"; done
ls "$VF_SHARED/photos/near_duplicates/libjxl_flower_variants" | sort | sed -n 1,5p |
  while read -r f; do cp -p "$VF_SHARED/photos/near_duplicates/libjxl_flower_variants/$f" "$PHOTOS/variants/"; done

# A RAW+JPEG pair (same folder and stem) for the Stacks page.
mkdir -p "$PHOTOS/stack"
cp -p "$VF_SHARED/photos/raw/dng/canon_eos_6d.dng" "$PHOTOS/stack/IMG_0001.dng"
cp -p "$VF_SHARED/photos/camera_exif/exif-samples/gps/DSCN0029.jpg" "$PHOTOS/stack/IMG_0001.JPG"
exiftool -q -overwrite_original '-DateTimeOriginal=2019:06:06 07:29:51' -Make=Canon '-Model=Canon EOS 6D' "$PHOTOS/stack/IMG_0001.JPG"

"$VF_BIN" index --library "$TMP/lib" --model "$VF_SHARED/golden/models/tiny" -q "$PHOTOS"

# Photos that appear only after the test presses "Re-index".
mkdir -p "$PHOTOS/flowers/new"
for i in 0241 0242 0243 0244 0245 0246 0247 0248 0249 0250 0251 0252; do
  cp -p "$VF_SHARED/photos/flowers17/images/image_$i.jpg" "$PHOTOS/flowers/new/"
done

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VF_BIN" serve --library "$TMP/lib" --port "$PORT" --web-root "$SRC/web/dist" --root "$PHOTOS" \
  >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break
  sleep 0.1
done

# A second server that needs a token: the UI must ask for it and then work (images via cookie).
TOKEN_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VF_BIN" serve --library "$TMP/lib" --port "$TOKEN_PORT" --web-root "$SRC/web/dist" --token browser-test-token \
  >"$TMP/serve-token.log" 2>&1 &
TOKEN_PID=$!
trap 'kill $TOKEN_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$TOKEN_PORT/api/health" >/dev/null && break
  sleep 0.1
done

SHOTS="$BUILD/artifacts/screenshots"
mkdir -p "$SHOTS"
status=0
TOKEN_BASE_URL="http://127.0.0.1:$TOKEN_PORT" TOKEN=browser-test-token \
BASE_URL="http://127.0.0.1:$PORT" QUERY_IMAGE="$PHOTOS/flowers/image_0003.jpg" SCREENSHOT_DIR="$SHOTS" \
  NODE_PATH="$NODE_MODULES" timeout 300 node "$SRC/tests/browser/ui.test.js" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log (tail) ----"
  tail -40 "$TMP/serve.log"
fi
exit "$status"
