#!/usr/bin/env bash
# Shared by the etcd e2e tests that run on host loopback ports (no namespaces): a temporary
# directory, etcd members and skiff-masters on free ports, every process stopped by its pid at
# exit (logs shown on failure). Skips the test without Debian's etcd-server.
set -euo pipefail
MASTER=${SKIFF_BINARY_DIR:?}/master-lite/skiff-master
command -v etcd >/dev/null || { echo "SKIP: etcd is not installed (Debian's etcd-server)"; exit 0; }
T=$(mktemp -d /tmp/skiff-e2e-etcd.XXXXXX)
export HOME=$T
declare -A MPORT
. "$(dirname "${BASH_SOURCE[0]}")/members.sh"
cleanup() {
  local rc=$?
  for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then for f in "$T"/*.log; do echo "--- $f"; tail -15 "$f"; done; fi
  [ -n "${KEEP:-}" ] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# master_start NAME: a skiff-master on the etcd (same port when restarted), ready.
master_start() {
  MPORT[$1]=${MPORT[$1]:-$(port)}
  "$MASTER" --storage etcd --etcd-servers "$SERVERS" --data-dir "$T/$1" \
    --kubeconfig-out "$T/$1.kubeconfig" --secure-port "${MPORT[$1]}" --bind-address 127.0.0.1 \
    >>"$T/$1.log" 2>&1 &
  PID[$1]=$!
  for _ in $(seq 1 150); do
    [ -s "$T/$1.kubeconfig" ] &&
      kubectl --kubeconfig "$T/$1.kubeconfig" get --raw /readyz >/dev/null 2>&1 && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || fail "$1 exited"
    sleep 0.2
  done
  fail "$1 not ready"
}
k() { local m=$1; shift; timeout 60 kubectl --kubeconfig "$T/$m.kubeconfig" "$@"; }
