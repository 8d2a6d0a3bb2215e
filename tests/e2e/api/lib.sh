# Shared by the api e2e tests: start skiff-master on a free loopback port in a temp dir, drive it
# with the real kubectl, stop it by pid. Every test sources this file.
set -euo pipefail
MASTER=${SKIFF_BINARY_DIR:?}/master-lite/skiff-master
T=$(mktemp -d /tmp/skiff-e2e-api.XXXXXX)
export HOME=$T  # kubectl's discovery cache per test run
export KUBECONFIG=$T/admin.kubeconfig
PY=/usr/bin/python3  # Debian's python3 has python3-kubernetes
MASTER_PID=
EXTRA_PIDS=()

cleanup() {
  local rc=$?
  for p in "${EXTRA_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "$MASTER_PID" ]; then kill "$MASTER_PID" 2>/dev/null || true; wait "$MASTER_PID" 2>/dev/null || true; fi
  if [ $rc -ne 0 ] && [ -f "$T/master.log" ]; then echo "--- master.log (tail)"; tail -20 "$T/master.log"; fi
  [ -n "${KEEP:-}" ] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# start_master [extra flags...]: reuses $T/data across restarts.
start_master() {
  PORT=${PORT:-$(free_port)}
  "$MASTER" --data-dir "$T/data" --kubeconfig-out "$KUBECONFIG" --secure-port "$PORT" \
    --bind-address 127.0.0.1 "$@" >>"$T/master.log" 2>&1 &
  MASTER_PID=$!
  for _ in $(seq 1 100); do
    if [ -s "$KUBECONFIG" ] && kubectl get --raw /readyz >/dev/null 2>&1; then return 0; fi
    kill -0 "$MASTER_PID" 2>/dev/null || { echo "skiff-master exited"; cat "$T/master.log"; exit 1; }
    sleep 0.1
  done
  echo "skiff-master not ready"; exit 1
}

stop_master() { kill "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null || true; MASTER_PID=; }
kill9_master() { kill -9 "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null || true; MASTER_PID=; }

k() { timeout 20 kubectl "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_has "<output>" "<substring>" [what]
expect_has() { grep -qF -- "$2" <<<"$1" || fail "${3:-output} lacks '$2':"$'\n'"$1"; }
expect_not() { ! grep -qF -- "$2" <<<"$1" || fail "${3:-output} has '$2':"$'\n'"$1"; }
expect_eq() { [ "$1" = "$2" ] || fail "${3:-value}: want '$2', got '$1'"; }

# curl with the admin client certificate (for raw requests kubectl cannot make).
kcurl() {
  curl -sS --cacert "$T/data/pki/ca.crt" --cert "$T/data/pki/admin.crt" --key "$T/data/pki/admin.key" "$@"
}
api() { echo "https://127.0.0.1:$PORT"; }
