#!/usr/bin/env bash
# pods/log and pods/exec through the API server to the node's agent API (a fake kubelet here):
# the URL translation, container defaulting, the WebSocket upgrade splice and kubectl's output.
. "$(dirname "$0")/lib.sh"
start_master
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=fake-kubelet \
  -keyout "$T/kl.key" -out "$T/kl.crt" >/dev/null 2>&1
$PY "$(dirname "$0")/fake_kubelet.py" "$T/kl.crt" "$T/kl.key" "$T/kl.port" &
EXTRA_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$T/kl.port" ] && break; sleep 0.1; done
KP=$(cat "$T/kl.port")
k create -f - >/dev/null <<Y
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],
 "daemonEndpoints":{"kubeletEndpoint":{"Port":$KP}},"conditions":[{"type":"Ready","status":"True"}]}}
Y
k create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox"}]}}
Y
out=$(k logs p1 2>&1 || true); expect_has "$out" 'log line from /containerLogs/default/p1/c'
out=$(k logs p1 --tail=5); expect_has "$out" 'tail=5'
echo '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"status":{"phase":"Running"}}' >"$T/st.json"
k replace --raw /api/v1/namespaces/default/pods/p1/status -f "$T/st.json" >/dev/null
set +e
out=$(timeout 20 kubectl exec p1 -- echo hi 2>&1); rc=$?
set -e
expect_has "$out" "ran: echo hi"
expect_has "$out" "command terminated with exit code 3"
expect_eq "$rc" "3" "exec exit code"
# A pod that is not scheduled has no agent to talk to.
k create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p2"},"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"x"}]}}
Y
out=$(k logs p2 -c a 2>&1 || true); expect_has "$out" "pod p2 does not have a host assigned"
echo PASS
