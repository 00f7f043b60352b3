#!/usr/bin/env bash
# Issue 14's cross-site attacks (forms and text/plain from another origin, DNS rebinding) in
# real headless Chromium against a real `viewfinder serve` (tests/browser/csrf.test.js).
set -euo pipefail
: "${VF_BIN:?VF_BIN must point at the viewfinder binary}"
: "${VF_SHARED:?VF_SHARED must point at the shared test data}"
SRC="${VF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
NODE_MODULES="$SRC/tools/node/node_modules"
if ! command -v node >/dev/null || [ ! -x /usr/bin/chromium ] || [ ! -d "$NODE_MODULES/playwright-core" ]; then
  echo "SKIP: needs node, /usr/bin/chromium and tools/node/node_modules/playwright-core"
  exit 0
fi
TMP=$(mktemp -d /tmp/vf-csrf.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/photos"
for i in 0001 0002 0003 0004 0081 0082; do cp -p "$VF_SHARED/photos/flowers17/images/image_$i.jpg" "$TMP/photos/"; done
"$VF_BIN" index --library "$TMP/lib" --model "$VF_SHARED/golden/models/tiny" -q "$TMP/photos"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VF_BIN" serve --library "$TMP/lib" --port "$PORT" --web-root "$SRC/web/dist" --root "$TMP/photos" \
  >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break
  sleep 0.1
done
BASE_URL="http://127.0.0.1:$PORT" SERVE_LOG="$TMP/serve.log" NODE_PATH="$NODE_MODULES" \
  timeout 120 node "$SRC/tests/browser/csrf.test.js"
