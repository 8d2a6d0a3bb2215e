#!/usr/bin/env bash
# kubectl port-forward through skiff-master's proxy to the kubelet API's /portForward: the
# default SPDY-over-WebSocket tunnel (kubectl >= 1.31), the plain SPDY upgrade (kubectl 1.27, and
# the fallback), several connections over one session, the Python client's channel protocol, and
# the error a closed port gives.
. "$(dirname "$0")/lib.sh"
start_cluster

step "a pod serving HTTP on 8080 of its own localhost only"
pod_yaml web '["sh", "-c", "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]' |
  k apply -f - >/dev/null
until_ok 60 pod_running web || { k get pods -o wide; fail "pod web not Running"; }

PF_PID=""
stop_pf() {
  if [ -n "$PF_PID" ]; then kill "$PF_PID" 2>/dev/null || true; wait "$PF_PID" 2>/dev/null || true; fi
  PF_PID=""
}
trap 'stop_pf; cleanup' EXIT
# forward <kubectl binary> <local port> <remote port>: starts it in the background, waits until ready.
forward() {
  "$1" port-forward pod/web "$2:$3" >"$T/pf.log" 2>&1 &
  PF_PID=$!
  PF_LOCAL=$2
  listening() { grep -q "Forwarding from 127.0.0.1:$PF_LOCAL" "$T/pf.log"; }
  until_ok 20 listening || { cat "$T/pf.log"; fail "$1 port-forward did not start"; }
}
fetch() { timeout 5 wget -q -O - "http://127.0.0.1:$1/index.html"; }

step "kubectl $(kubectl version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p') (SPDY tunnelled in a WebSocket)"
forward kubectl 18080 8080
for i in 1 2 3; do  # each fetch is a new connection: a new stream pair on the same session
  out=$(fetch 18080) || { cat "$T/pf.log"; fail "fetch $i through port-forward failed"; }
  [ "$out" = "hello-from-web" ] || fail "fetch $i returned '$out'"
done
grep -q "Handling connection for 18080" "$T/pf.log" || fail "kubectl did not report the connections: $(cat "$T/pf.log")"
stop_pf

step "KUBECTL_PORT_FORWARD_WEBSOCKETS=false (the SPDY upgrade)"
KUBECTL_PORT_FORWARD_WEBSOCKETS=false forward kubectl 18081 8080
out=$(fetch 18081) || { cat "$T/pf.log"; fail "fetch through the SPDY upgrade failed"; }
[ "$out" = "hello-from-web" ] || fail "SPDY upgrade fetch returned '$out'"
stop_pf

if command -v kubectl.1.27 >/dev/null; then
  step "kubectl 1.27 (SPDY only)"
  forward kubectl.1.27 18082 8080
  out=$(fetch 18082) || { cat "$T/pf.log"; fail "fetch through kubectl 1.27 failed"; }
  [ "$out" = "hello-from-web" ] || fail "kubectl 1.27 fetch returned '$out'"
  stop_pf
fi

if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
  step "Python client portforward() (WebSocket v4.channel.k8s.io, ports in the URL)"
  out=$(timeout 30 /usr/bin/python3 - <<'PY' 2>&1
from kubernetes import client, config
from kubernetes.stream import portforward
config.load_kube_config()
api = client.CoreV1Api()
pf = portforward(api.connect_get_namespaced_pod_portforward, "web", "default", ports="8080")
s = pf.socket(8080)
s.setblocking(True)
s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().splitlines()[-1])
print("error:", pf.error(8080))
PY
  ) || fail "python portforward failed: $out"
  grep -qx "hello-from-web" <<<"$out" || fail "python portforward returned: $out"
  grep -qx "error: None" <<<"$out" || fail "python portforward reported an error: $out"
fi

step "a port nothing listens on: the kubelet's error reaches kubectl"
forward kubectl 18083 8081
fetch 18083 >/dev/null 2>&1 && fail "fetch from a closed port succeeded"
has_error() { grep -q "error forwarding port 8081 to pod .*failed to connect to localhost:8081 inside namespace" "$T/pf.log"; }
until_ok 10 has_error || { cat "$T/pf.log"; fail "kubectl did not show the forwarding error"; }
grep -q "connection refused" "$T/pf.log" || fail "the error lacks the connect failure: $(cat "$T/pf.log")"
grep -o "error forwarding port.*" "$T/pf.log" | head -1
stop_pf

step "port-forward to a missing pod is refused by the API"
out=$(kubectl port-forward pod/nope 18084:80 2>&1) && fail "port-forward to a missing pod succeeded"
grep -q 'pods "nope" not found' <<<"$out" || fail "missing pod message: $out"
echo PASS
