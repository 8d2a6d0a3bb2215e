#!/usr/bin/env bash
# pods/proxy, services/proxy and nodes/proxy on a real quickstart (master, agent and pods in one
# netns, so the master reaches pod IPs as kube-apiserver does): `kubectl get --raw` through a pod
# (port by number, the default first port, the bare /proxy form's redirect, https refused on a
# plain port), through a Service (named port, port number, the quickstart's unnamed port), to the
# agent (/healthz) and another node port; redirects and HTML links rewritten; upstream's errors;
# RBAC by method on pods/proxy.
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-proxy
trap 'qs_cleanup; rm -f "$OUT.body"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- quickstart output"; cat "$OUT"
  echo "--- master log (tail)"; tail -30 "/run/$NS/master.log" 2>/dev/null || true
  exit 1
}
k() { nsenter --net="/run/netns/$NS" -- kubectl --kubeconfig "$KC" "$@"; }
# raw <path>: the body of a GET through the API server (kubectl follows redirects).
raw() { k get --raw "$1" 2>&1 || true; }
expect_has() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

echo "== quickstart up"
"$QS" >"$OUT" 2>&1 || fail "quickstart failed"
NODE=$(k get nodes -o jsonpath='{.items[0].metadata.name}')

echo "== a pod serving a page with a link, a subdirectory, on a named port; a Service for it"
k apply -f - >/dev/null <<'Y' || fail "apply"
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www/sub && printf '<a href=\"/rewriteme\">test</a>' > /www/index.html && echo sub-index > /www/sub/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
Y
k wait --for=condition=Ready pod/web --timeout=90s >/dev/null || fail "pod web not Ready"
for _ in $(seq 1 60); do
  [ -n "$(k get endpoints web -o jsonpath='{.subsets[0].addresses[0].ip}' 2>/dev/null)" ] && break
  sleep 0.5
done

P=/api/v1/namespaces/default/pods
SV=/api/v1/namespaces/default/services
LINK='<a href="/api/v1/namespaces/default/pods/web:8080/proxy/rewriteme">test</a>'

echo "== through the pod"
expect_eq "$(raw $P/web:8080/proxy/)" "$LINK" "pods/web:8080/proxy/"
expect_eq "$(raw $P/http:web:8080/proxy/)" \
  '<a href="/api/v1/namespaces/default/pods/http:web:8080/proxy/rewriteme">test</a>' "http:web:8080"
expect_eq "$(raw $P/web/proxy/)" '<a href="/api/v1/namespaces/default/pods/web/proxy/rewriteme">test</a>' \
  "pods/web/proxy/ (first declared port)"
# The bare form answers 301 to .../proxy/; kubectl follows it.
expect_eq "$(raw $P/web:8080/proxy)" "$LINK" "bare pods/web:8080/proxy"
# busybox httpd redirects /sub to /sub/: the Location comes back under the proxy path.
expect_eq "$(raw $P/web:8080/proxy/sub)" "sub-index" "redirect rewritten"
expect_eq "$(raw $P/web:8080/proxy/sub/index.html?x=1)" "sub-index" "path and query"
out=$(raw $P/web:9999/proxy/)
expect_has "$out" "error trying to reach service: dial tcp "
expect_has "$out" ":9999: connect: connection refused"
# A port name is dialled as a service name, as Go does (http = 80), not the container port's name.
out=$(raw $P/web:http/proxy/)
expect_has "$out" ":80: connect: connection refused"
expect_has "$(raw $P/web:dest1/proxy/)" "dial tcp: address tcp/dest1: unknown port"
expect_has "$(raw $P/nope:80/proxy/)" 'pods "nope" not found'
expect_has "$(raw $P/ftp:web:80/proxy/)" 'invalid pod request "ftp:web:80"'

echo "== through a Service"
expect_eq "$(raw $SV/web:http/proxy/sub/)" "sub-index" "services/web:http"
expect_eq "$(raw $SV/web:80/proxy/sub/)" "sub-index" "services/web:80 (port number)"
expect_eq "$(raw $SV/http:web:http/proxy/sub/)" "sub-index" "services/http:web:http"
expect_has "$(raw $SV/hello/proxy/)" "hello from pod hello-"  # the quickstart's unnamed port
out=$(raw $SV/web:81/proxy/)
expect_has "$out" "ServiceUnavailable"
expect_has "$out" 'no service port 81 found for service "web"'
expect_has "$(raw $SV/web/proxy/)" 'no endpoints available for service "web"'

echo "== to the node"
expect_eq "$(raw /api/v1/nodes/$NODE/proxy/healthz)" "ok" "nodes/<n>/proxy/healthz"
expect_eq "$(raw /api/v1/nodes/$NODE:10250/proxy/healthz)" "ok" "nodes/<n>:10250/proxy/healthz"
# Another port of the node: plain http (the agent's healthz listener on 10248 is loopback-only).
expect_has "$(raw /api/v1/nodes/$NODE:1/proxy/)" "connection refused"

echo "== other methods pass through"
printf 'x' >"$OUT.body"
out=$(k create --raw $P/web:8080/proxy/ -f "$OUT.body" 2>&1 || true)
expect_has "$out" "501 Not Implemented"  # busybox httpd's own answer to a POST on a file

echo "== RBAC: verb by method on pods/proxy"
out=$(k --as alice get --raw $P/web:8080/proxy/ 2>&1 || true)
expect_has "$out" 'User "alice" cannot get resource "pods/proxy" in API group "" in the namespace "default"'
k create role proxy-get --verb=get --resource=pods/proxy >/dev/null
k create rolebinding alice-proxy --role=proxy-get --user=alice >/dev/null
ok=0
for _ in $(seq 1 20); do
  [ "$(k --as alice get --raw $P/web:8080/proxy/ 2>/dev/null)" = "$LINK" ] && { ok=1; break; }
  sleep 0.5
done
[ "$ok" = 1 ] || fail "alice cannot get pods/proxy after the RoleBinding"
out=$(k --as alice create --raw $P/web:8080/proxy/ -f "$OUT.body" 2>&1 || true)
expect_has "$out" 'User "alice" cannot create resource "pods/proxy"'

echo "== discovery"
out=$(k get --raw /api/v1)
for s in pods/proxy services/proxy nodes/proxy; do expect_has "$out" "\"name\":\"$s\""; done
echo PASS
