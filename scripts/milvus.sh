#!/usr/bin/env bash
# Starts, stops and reports a real Milvus standalone server (PyPI's `milvus` package: the Go
# binary with embedded etcd and local storage) for Viewfinder's Milvus backend, its tests and
# benchmarks. Everything binds to loopback only.
#
#   scripts/milvus.sh install             install the server into its venv (scripts/setup.sh runs it)
#   scripts/milvus.sh start  [DATA_DIR]   install (once), start, wait for health, print address
#   scripts/milvus.sh stop   [DATA_DIR]   stop the server started from DATA_DIR (clean shutdown)
#   scripts/milvus.sh status [DATA_DIR]   report running / stopped, address, versions
#
# DATA_DIR defaults to build/milvus-data. Environment:
#   VF_MILVUS_PORT           gRPC (proxy) port to use, default 19530; start fails if it is busy
#   VF_MILVUS_START_TIMEOUT  seconds to wait for health, default 240 (a minute on two cores)
#   VF_MILVUS_VENV           virtual environment, default build/venv-milvus
# The server's PIDs and ports are recorded in DATA_DIR/viewfinder-milvus.env; `start` on a
# running server only prints its address (idempotent), `stop` on a stopped one says so.
set -euo pipefail

# PyPI's newest `milvus` is 2.3.5 (there is no 2.3.9 on PyPI); the server inside reports its
# own version through GetVersion, see docs/scale.md.
MILVUS_PYPI_VERSION=2.3.5
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VF_MILVUS_VENV:-$ROOT/build/venv-milvus}
PORT=${VF_MILVUS_PORT:-19530}
START_TIMEOUT=${VF_MILVUS_START_TIMEOUT:-240}
GRACEFUL_STOP_S=10
# Components whose gRPC listeners otherwise bind the first non-loopback address.
COMPONENTS=(proxy rootCoord queryCoord queryNode dataCoord dataNode indexNode)

die() { echo "milvus.sh: $*" >&2; exit 1; }
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

cmd=${1:-}
case "$cmd" in
  install|start|stop|status) ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
DATA_DIR=${2:-$ROOT/build/milvus-data}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
STATE=$DATA_DIR/viewfinder-milvus.env

installed() {
  [ -x "$VENV/bin/milvus-server" ] &&
    [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("milvus"))' 2>/dev/null)" = "$MILVUS_PYPI_VERSION" ]
}

# Tests that each start their own server run in parallel (ctest -j2), so the first install
# holds a lock beside the venv and the others wait for it, instead of seeing a half-made venv.
install_server() {
  installed && return
  command -v python3 >/dev/null || die "python3 is missing (run scripts/install-deps.sh)"
  command -v flock >/dev/null || die "flock is missing (run scripts/install-deps.sh)"
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  if ! installed; then
    echo "milvus.sh: installing milvus==$MILVUS_PYPI_VERSION into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "cannot create $VENV (install python3-venv: scripts/install-deps.sh)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "milvus==$MILVUS_PYPI_VERSION" ||
      die "pip install milvus==$MILVUS_PYPI_VERSION failed"
  fi
  flock -u 9
  exec 9>&-
}

# A zombie (the exited server before its launcher reaps it) is not alive.
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

load_state() {
  SESSION_ID="" SERVER_PID="" PROXY_PORT="" HEALTH_PORT=""
  # shellcheck disable=SC1090
  if [ -f "$STATE" ]; then . "$STATE"; fi
}

# Processes of the session that `start` created (launcher, server, forwarders).
session_pids() { [ -n "${SESSION_ID:-}" ] && pgrep -s "$SESSION_ID" || true; }

# Listening TCP sockets of one process: "addr:port" per line.
listeners() { ss -Hltnp 2>/dev/null | awk -v pid="pid=$1," 'index($0, pid) {print $4}'; }

healthy() { [ -n "${1:-}" ] && [ "$(curl -s --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null)" = "OK" ]; }

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

first_free_port() {
  local p=$1
  while port_busy "$p"; do p=$((p + 1)); done
  echo "$p"
}

check_loopback_only() {
  local pid off=""
  for pid in $(session_pids); do
    off+=$(listeners "$pid" | grep -Ev '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' || true)
  done
  if [ -n "$off" ]; then
    echo "milvus.sh: Milvus listens off loopback: $(echo "$off" | tr '\n' ' ')" >&2
    return 1
  fi
}

print_address() { echo "127.0.0.1:$PROXY_PORT"; }

stop_server() {
  load_state
  local pids
  pids=$(session_pids)
  if [ -z "$pids" ]; then
    rm -f "$STATE"
    echo "milvus.sh: not running ($DATA_DIR)" >&2
    return 0
  fi
  # SIGTERM starts Milvus's graceful stop, which it ends itself after GRACEFUL_STOP_S; only
  # a server that outlives that (plus a margin) is killed. Acknowledged writes are already in
  # its write-ahead log (rocksmq) and survive either way. Then the launcher and forwarders of
  # the same session go.
  if alive "$SERVER_PID"; then kill -TERM "$SERVER_PID" 2>/dev/null || true; fi
  local i pid
  for i in $(seq 1 $((GRACEFUL_STOP_S * 2 + 20))); do alive "$SERVER_PID" || break; sleep 0.5; done
  if alive "$SERVER_PID"; then
    echo "milvus.sh: server $SERVER_PID still running $((GRACEFUL_STOP_S + 10)) s after SIGTERM; killing it" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  for pid in $(session_pids); do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 20); do [ -n "$(session_pids)" ] || break; sleep 0.25; done
  for pid in $(session_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$STATE"
  echo "milvus.sh: stopped ($DATA_DIR)" >&2
}

# Milvus 2.3 binds every gRPC/HTTP listener to all interfaces; `<component>.ip` only sets the
# address it advertises. So the server runs in a private network namespace (only its own
# loopback, unreachable from the network), and socat forwards the host's 127.0.0.1:PORT and
# health port to it through Unix sockets in DATA_DIR/run.
launch_in_netns() {
  local run=$DATA_DIR/run
  mkdir -p "$run" "$DATA_DIR/logs"
  rm -f "$run/grpc.sock" "$run/health.sock"
  [ ${#run} -lt 90 ] || die "DATA_DIR path too long for a Unix socket: $DATA_DIR"
  local args=(--data "$DATA_DIR" --proxy-port "$PORT")
  local c
  for c in "${COMPONENTS[@]}"; do args+=(--extra-config "$c.ip=127.0.0.1"); done
  # Milvus 2.3 stops its coordinators before its nodes, which then retry the stopped root
  # coordinator until this timeout (default 1800 s): bound the graceful stop.
  args+=(--extra-config "common.gracefulStopTimeout=$GRACEFUL_STOP_S")
  local unshare_flags=(-n)
  [ "$(id -u)" = 0 ] || unshare_flags=(-r -n)
  # One new session holds everything started here (host-side forwarders, the namespace, the
  # launcher and the server), so `stop` finds each process by that session id.
  # shellcheck disable=SC2016
  setsid bash -c '
    run=$1 port=$2 health=$3; shift 3
    socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$run/grpc.sock" &
    socat TCP-LISTEN:"$health",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$run/health.sock" &
    exec unshare "$@"' launch "$run" "$PORT" "$HEALTH_PORT" "${unshare_flags[@]}" bash -c '
    set -e
    ip link set lo up
    run=$1 port=$2; shift 2
    socat UNIX-LISTEN:"$run/grpc.sock",fork TCP:127.0.0.1:"$port" &
    socat UNIX-LISTEN:"$run/health.sock",fork TCP:127.0.0.1:9091 &
    exec "$@"' netns "$run" "$PORT" "$VENV/bin/milvus-server" "${args[@]}" \
    >"$DATA_DIR/logs/launcher.log" 2>&1 < /dev/null &
  SESSION_ID=$!
}

start_server() {
  load_state
  if alive "$SERVER_PID" && healthy "$HEALTH_PORT"; then
    echo "milvus.sh: already running (pid $SERVER_PID)" >&2
    print_address
    return 0
  fi
  if [ -n "$(session_pids)" ]; then
    echo "milvus.sh: a previous server from $DATA_DIR is not healthy; stopping it" >&2
    stop_server
  fi
  rm -f "$STATE"
  local tool
  for tool in ss curl socat unshare ip pgrep; do
    command -v "$tool" >/dev/null || die "$tool is missing (run scripts/install-deps.sh)"
  done
  local probe=(-n)
  [ "$(id -u)" = 0 ] || probe=(-r -n)
  unshare "${probe[@]}" true 2>/dev/null ||
    die "cannot create a network namespace (unshare -rn); enable unprivileged user namespaces"
  install_server
  port_busy "$PORT" && die "port $PORT is busy; set VF_MILVUS_PORT to a free port"
  HEALTH_PORT=$(first_free_port 9091) PROXY_PORT=$PORT
  local t0=$SECONDS
  launch_in_netns
  SERVER_PID=""
  local ok=""
  while [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ]; do
    alive "$SESSION_ID" ||
      die "the server exited during start-up; see $DATA_DIR/logs/launcher.log and milvus-stderr.log"
    [ -n "$SERVER_PID" ] || SERVER_PID=$(pgrep -s "$SESSION_ID" -x milvus | head -n1 || true)
    if [ -n "$SERVER_PID" ] && healthy "$HEALTH_PORT"; then ok=1; break; fi
    sleep 1
  done
  printf 'SESSION_ID=%s\nSERVER_PID=%s\nPROXY_PORT=%s\nHEALTH_PORT=%s\n' \
    "$SESSION_ID" "$SERVER_PID" "$PORT" "$HEALTH_PORT" > "$STATE"
  if [ -z "$ok" ]; then
    stop_server
    die "Milvus did not become healthy within ${START_TIMEOUT}s; see $DATA_DIR/logs/"
  fi
  if ! check_loopback_only; then
    stop_server
    die "refusing to run a server reachable from the network"
  fi
  echo "milvus.sh: started in $((SECONDS - t0)) s (pid $SERVER_PID, health port $HEALTH_PORT, data $DATA_DIR)" >&2
  print_address
}

status_server() {
  load_state
  if alive "$SERVER_PID" && healthy "$HEALTH_PORT"; then
    echo "running: 127.0.0.1:$PROXY_PORT (pid $SERVER_PID, health http://127.0.0.1:$HEALTH_PORT/healthz, data $DATA_DIR)"
    return 0
  fi
  if alive "$SERVER_PID"; then
    echo "unhealthy: pid $SERVER_PID is alive but /healthz does not answer OK (data $DATA_DIR)"
    return 1
  fi
  echo "stopped ($DATA_DIR)"
  return 3
}

case "$cmd" in
  install) install_server; echo "milvus.sh: milvus==$MILVUS_PYPI_VERSION installed in $VENV" >&2 ;;
  start) start_server ;;
  stop) stop_server ;;
  status) status_server ;;
esac
