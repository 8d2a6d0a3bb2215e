#!/usr/bin/env bash
# scripts/quickstart with the already-built binaries (no deps, no build), under its own name so
# a user's quickstart on the same machine is not touched: it comes up (node Ready, 2 pods
# Running, the Service answers on its ClusterIP), a second run sees it running, --down removes
# processes, containers, mounts, cgroups, the netns and the state dir, and a second --down is a
# no-op.
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-e2e
fail() { echo "FAIL: $*"; echo "--- quickstart output"; cat "$OUT"; exit 1; }

leftovers() {
  ip netns list | grep -q "^$NS\( \|$\)" && echo "netns $NS"
  [ -e "/run/$NS" ] && echo "state dir /run/$NS"
  ls -d /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/unified/"$NS" 2>/dev/null
  grep " /run/$NS/" /proc/self/mounts
  pgrep -f -- "/run/$NS/"
  true
}

echo "== up"
"$QS" >"$OUT" 2>&1 || fail "quickstart failed"
grep -q "node/.* Ready " "$OUT" || fail "no Ready node in the output"
[ "$(grep -c 'pod/hello-.* 1/1  *Running' "$OUT")" = 2 ] || fail "not 2 Running pods"
grep -q "curl http://10\..*/ -> hello from pod hello-" "$OUT" || fail "the Service did not answer"
grep -q "skiff-agent --server https://10.250.0.1:6443 --token [a-z0-9]\{6\}\.[a-z0-9]\{16\} --ca-cert-hash sha256:[0-9a-f]\{64\}" "$OUT" \
  || fail "no join command"
for p in master agent; do kill -0 "$(cat /run/$NS/$p.pid)" || fail "$p not running after the script exited"; done
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
