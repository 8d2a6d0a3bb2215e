#!/usr/bin/env bash
# scripts/quickstart with the already-built binaries (no deps, no build), under its own name so
# a user's quickstart on the same machine is not touched: it comes up (node Ready, 2 pods
# Running, the Service answers on its ClusterIP), a second run sees it running, --down removes
# processes, containers, mounts, cgroups, the netns and the state dir, and a second --down is a
# no-op.
set -euo pipefail
B=${SKIFF_BINARY_DIR:?}
S=${SKIFF_SOURCE_DIR:?}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (netns, cgroups)"; exit 1; }
export SKIFF_QUICKSTART_NAME=skiff-qs-e2e SKIFF_QUICKSTART_SKIP_DEPS=1 SKIFF_QUICKSTART_BIN_DIR=$B
QS=$S/scripts/quickstart
NAME=$SKIFF_QUICKSTART_NAME
OUT=$(mktemp /tmp/skiff-qs-e2e.XXXXXX)
trap '"$QS" --down >/dev/null 2>&1 || true; rm -f "$OUT"' EXIT
fail() { echo "FAIL: $*"; echo "--- quickstart output"; cat "$OUT"; exit 1; }

leftovers() {
  ip netns list | grep -q "^$NAME\( \|$\)" && echo "netns $NAME"
  [ -e "/run/$NAME" ] && echo "state dir /run/$NAME"
  ls -d /sys/fs/cgroup/*/"$NAME" /sys/fs/cgroup/unified/"$NAME" 2>/dev/null
  grep " /run/$NAME/" /proc/self/mounts
  pgrep -f -- "/run/$NAME/"
  true
}

echo "== up"
"$QS" >"$OUT" 2>&1 || fail "quickstart failed"
grep -q "node/.* Ready " "$OUT" || fail "no Ready node in the output"
[ "$(grep -c 'pod/hello-.* 1/1  *Running' "$OUT")" = 2 ] || fail "not 2 Running pods"
grep -q "curl http://10\..*/ -> hello from pod hello-" "$OUT" || fail "the Service did not answer"
grep -q "skiff-agent --server https://10.250.0.1:6443 --token [a-z0-9]\{6\}\.[a-z0-9]\{16\} --ca-cert-hash sha256:[0-9a-f]\{64\}" "$OUT" \
  || fail "no join command"
for p in master agent; do kill -0 "$(cat /run/$NAME/$p.pid)" || fail "$p not running after the script exited"; done
grep -E "waiting for pods|curl http" "$OUT" | tr '\r' '\n' | tail -5

echo "== up again: already running"
"$QS" >"$OUT" 2>&1 || fail "second run failed"
grep -q "already running" "$OUT" || fail "second run did not notice the running cluster"

echo "== down, twice"
"$QS" --down >"$OUT" 2>&1 || fail "--down failed"
left=$(leftovers)
[ -z "$left" ] || fail "left behind: $left"
"$QS" --down >"$OUT" 2>&1 || fail "second --down failed"
echo "PASS"
