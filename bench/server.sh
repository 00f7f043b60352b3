#!/usr/bin/env bash
# HTTP server throughput and latency under load (wrk), on loopback.
#
# Indexes flowers17 (680 photos) once with a golden model (tiny by default; MODEL=small for
# the bigger one), caches the library under $BUILD/bench-cache, starts `viewfinder serve`,
# and runs wrk for DURATION seconds against:
#   health   GET /api/health            the HTTP layer's ceiling (no search work)
#   similar  GET /api/search/similar/ID  "more like this", random indexed ids
#   search   POST /api/search            JSON body {"ids":[ID],"k":24,"alpha":0.6}, random ids
# Reports requests/s, p50/p99 latency and errors (non-2xx + socket errors); the goal is zero
# errors. The last line is JSON.
#
# env: VF_BIN, VF_SHARED, BUILD (cache dir), MODEL (tiny|small), DURATION (s, default 15),
#      CONNECTIONS (default 8), THREADS (wrk threads, default 2), MAX_CONCURRENT (server, default 2)
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-${VF_BUILD_DIR:-$SRC/build}}"
VF_BIN="${VF_BIN:-$BUILD/viewfinder}"
VF_SHARED="${VF_SHARED:-$SRC/../shared}"
MODEL="${MODEL:-tiny}"
DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-8}"
THREADS="${THREADS:-2}"
MAX_CONCURRENT="${MAX_CONCURRENT:-2}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$VF_BIN" ] || { echo "no viewfinder binary at $VF_BIN (set VF_BIN)" >&2; exit 1; }

LIB="$BUILD/bench-cache/server-flowers17-$MODEL"
if [ ! -f "$LIB/catalog.sqlite3" ]; then
  echo "indexing flowers17 with the golden $MODEL model into $LIB ..." >&2
  "$VF_BIN" index --library "$LIB" --model "$VF_SHARED/golden/models/$MODEL" -q "$VF_SHARED/photos/flowers17/images" >&2
fi

TMP=$(mktemp -d /tmp/vf-bench-server.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VF_BIN" serve --library "$LIB" --port "$PORT" --max-concurrent "$MAX_CONCURRENT" --max-queue 256 \
  --max-connections-per-ip 0 \
  --log "$TMP/requests.log" >"$TMP/serve.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done
IDS=$(curl -sf "http://127.0.0.1:$PORT/api/photos?k=1000" | /usr/bin/python3 -c 'import json,sys; print(",".join(str(p["id"]) for p in json.load(sys.stdin)["photos"]))')
NIDS=$(echo "$IDS" | tr ',' '\n' | wc -l)

# One wrk Lua script per scenario; done() prints a JSON summary line.
common_done='
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\"requests\":%d,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"non2xx\":%d,\"socket_errors\":%d}\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end'
cat >"$TMP/health.lua" <<EOF
$common_done
EOF
cat >"$TMP/similar.lua" <<EOF
local ids = {$IDS}
request = function()
  return wrk.format("GET", "/api/search/similar/" .. ids[math.random(#ids)] .. "?k=24")
end
$common_done
EOF
cat >"$TMP/search.lua" <<EOF
local ids = {$IDS}
request = function()
  local body = '{"ids":[' .. ids[math.random(#ids)] .. '],"k":24,"alpha":0.6}'
  return wrk.format("POST", "/api/search", {["Content-Type"] = "application/json"}, body)
end
$common_done
EOF

LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
declare -A RESULT
for scenario in health similar search; do
  url="http://127.0.0.1:$PORT/api/health"
  [ "$scenario" = health ] || url="http://127.0.0.1:$PORT/"
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$TMP/$scenario.lua" "$url" 2>&1)
  line=$(echo "$out" | grep '^WRKJSON ' | sed 's/^WRKJSON //')
  [ -n "$line" ] || { echo "$out" >&2; echo "wrk gave no summary for $scenario" >&2; exit 1; }
  RESULT[$scenario]="$line"
  /usr/bin/python3 - "$scenario" "$line" <<'PY'
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
print(f"{name:8s} {r['rps']:9.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   "
      f"errors {r['non2xx'] + r['socket_errors']} (non-2xx {r['non2xx']}, socket {r['socket_errors']})")
PY
done
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
logged=$(grep -c ' /api/' "$TMP/requests.log" || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
LOAD_AFTER=$(cut -d" " -f1-3 /proc/loadavg)
/usr/bin/python3 - "$MODEL" "$NIDS" "$DURATION" "$CONNECTIONS" "$MAX_CONCURRENT" "$logged" "$cpu" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" "${RESULT[health]}" "${RESULT[similar]}" "${RESULT[search]}" <<'PY'
import json, sys
model, n, dur, conns, maxc, logged, cpu, lb, la, ncpu = sys.argv[1:11]
health, similar, search = (json.loads(x) for x in sys.argv[11:14])
errors = sum(r["non2xx"] + r["socket_errors"] for r in (health, similar, search))
load_before = [float(x) for x in lb.split()]
busy = load_before[0] > int(ncpu)
if busy:
    print(f"note: machine busy (load {lb} on {ncpu} cores): latencies include waiting for CPU")
print(json.dumps({"bench": "server", "model": model, "photos": int(n), "duration_s": int(dur),
                  "connections": int(conns), "max_concurrent": int(maxc), "cpu": cpu, "cores": int(ncpu),
                  "load_before": load_before, "load_after": [float(x) for x in la.split()], "busy": busy,
                  "logged_requests": int(logged), "health": health, "similar": similar,
                  "search": search, "errors": errors,
                  "goals": {"zero_errors": {"target": 0, "met": errors == 0}}}))
PY
