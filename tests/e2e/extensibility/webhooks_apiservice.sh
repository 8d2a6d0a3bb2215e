#!/usr/bin/env bash
# Admission webhooks and APIService aggregation with real kubectl (issue 20). A small HTTPS
# server (hook_server.py, certificate from a throwaway CA) runs in the quickstart's network
# namespace, reached through a selectorless Service with Endpoints, or through a URL:
#   - a validating webhook denies pods named bad*, with upstream's message;
#   - a mutating webhook labels pods (JSONPatch), on server dry run and in the store;
#   - with the server down, failurePolicy Ignore admits and Fail rejects with upstream's text;
#   - an APIService proxied to the server becomes Available, appears in `kubectl
#     api-resources` and answers `kubectl get`; kube-system/extension-apiserver-authentication
#     publishes the requestheader settings and the front proxy's CA;
#   - a CRD whose versions convert through the server's conversion webhook: written at v1,
#     stored and read at v2 in another shape, listed at v1; with the server down, reads of the
#     other version fail with upstream's message.
# Brings up scripts/quickstart under its own name with the built binaries.
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-ext
NODE_IP=10.250.0.1
PORT=8443
D=$(mktemp -d /tmp/skiff-ext-e2e.XXXXXX)
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}
trap 'stop_server; qs_cleanup; rm -rf "$D"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- master log"; tail -30 "/run/$NS/master.log" 2>/dev/null || true
  echo "--- hook server"; tail -20 "$D/server.log" 2>/dev/null || true
  exit 1
}
start_server() {
  ip netns exec "$NS" python3 "$S/tests/e2e/extensibility/hook_server.py" "$NODE_IP" "$PORT" \
    "$D/srv.crt" "$D/srv.key" >>"$D/server.log" 2>&1 &
  SERVER_PID=$!
  until_ok 10 ip netns exec "$NS" curl -sk --max-time 2 "https://$NODE_IP:$PORT/apis/demo.skiff.io/v1" \
    || fail "hook server did not start"
}

echo "== certificates"
(cd "$D" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.crt -days 1 -subj /CN=e2e-hook-ca &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
    -out srv.csr -subj /CN=hook.webhook-e2e.svc &&
  printf 'subjectAltName=DNS:hook.webhook-e2e.svc,IP:%s\n' "$NODE_IP" >ext.cnf &&
  openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1 \
    -extfile ext.cnf) >/dev/null 2>&1 || fail "openssl"
CA=$(base64 -w0 "$D/ca.crt")

echo "== quickstart"
qs_up
start_server

# webhook_configuration KIND NAME WEBHOOK PATH: a KIND with the one webhook WEBHOOK, which the
# API server calls on PATH of the Service hook for every pod created in a namespace labelled
# webhook-e2e=on.
webhook_configuration() {
  cat <<YAML
---
apiVersion: admissionregistration.k8s.io/v1
kind: $1
metadata: {name: $2}
webhooks:
- name: $3
  clientConfig:
    service: {namespace: webhook-e2e, name: hook, path: $4}
    caBundle: $CA
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
  namespaceSelector: {matchLabels: {webhook-e2e: "on"}}
  sideEffects: None
  admissionReviewVersions: [v1]
YAML
}
echo "== webhook configurations through a Service"
{
  cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: webhook-e2e}
---
apiVersion: v1
kind: Namespace
metadata: {name: hooked, labels: {webhook-e2e: "on"}}
---
apiVersion: v1
kind: Service
metadata: {name: hook, namespace: webhook-e2e}
spec:
  ports: [{port: 443, targetPort: $PORT}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: hook, namespace: webhook-e2e}
subsets:
- addresses: [{ip: $NODE_IP}]
  ports: [{port: $PORT}]
YAML
  webhook_configuration ValidatingWebhookConfiguration deny-bad deny.e2e.skiff.io /validate
  webhook_configuration MutatingWebhookConfiguration label-pods label.e2e.skiff.io /mutate
} | K apply -f - >/dev/null || fail "apply service and configurations"
K get validatingwebhookconfigurations deny-bad -o jsonpath='{.webhooks[0].failurePolicy} {.webhooks[0].timeoutSeconds}' \
  | grep -qx 'Fail 10' || fail "webhook defaults: $(K get validatingwebhookconfigurations deny-bad -o yaml)"
K get mutatingwebhookconfigurations | grep -q '^label-pods  *1 ' || fail "WEBHOOKS column: $(K get mutatingwebhookconfigurations)"

out=$(K run bad1 -n hooked --image=busybox --restart=Never 2>&1) && fail "pod bad1 was admitted"
grep -qF 'admission webhook "deny.e2e.skiff.io" denied the request: pods named bad* are not welcome' <<<"$out" \
  || fail "deny message: $out"
echo "denied: $out"
lbl=$(K run good1 -n hooked --image=busybox --restart=Never --dry-run=server -o jsonpath='{.metadata.labels.webhook}') \
  || fail "dry-run create of good1"
[ "$lbl" = mutated ] || fail "dry run not mutated: '$lbl'"
K run good2 -n hooked --image=busybox --restart=Never --command -- sleep 600 >/dev/null || fail "create good2"
[ "$(K get pod good2 -n hooked -o jsonpath='{.metadata.labels.webhook}')" = mutated ] || fail "stored pod not mutated"
K run bad2 -n default --image=busybox --restart=Never --dry-run=server >/dev/null \
  || fail "namespaceSelector: a pod outside the selected namespaces was sent to the webhook"

echo "== failurePolicy with the webhook down"
stop_server
# url_webhook LABEL POLICY: a webhook LABEL.e2e.skiff.io with failurePolicy POLICY and a 2 s
# timeout, called by URL for every pod created in a namespace labelled webhook-e2e=LABEL.
url_webhook() {
  cat <<YAML
- name: $1.e2e.skiff.io
  clientConfig: {url: "https://$NODE_IP:$PORT/validate", caBundle: $CA}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
  namespaceSelector: {matchLabels: {webhook-e2e: $1}}
  failurePolicy: $2
  timeoutSeconds: 2
  sideEffects: None
  admissionReviewVersions: [v1]
YAML
}
{
  cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: ns-ignore, labels: {webhook-e2e: ignore}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns-fail, labels: {webhook-e2e: fail}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: down}
webhooks:
YAML
  url_webhook ignore Ignore
  url_webhook fail Fail
} | K apply -f - >/dev/null || fail "apply URL configurations"
K run p1 -n ns-ignore --image=busybox --restart=Never --dry-run=server >/dev/null || fail "Ignore did not admit"
out=$(K run p1 -n ns-fail --image=busybox --restart=Never --dry-run=server 2>&1) && fail "Fail admitted"
grep -qF "Internal error occurred: failed calling webhook \"fail.e2e.skiff.io\": failed to call webhook: Post \"https://$NODE_IP:$PORT/validate?timeout=2s\": dial tcp $NODE_IP:$PORT: connect: connection refused" <<<"$out" \
  || fail "Fail message: $out"
echo "rejected: $out"

echo "== APIService"
start_server
K apply -f - >/dev/null <<YAML || fail "apply APIService"
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.demo.skiff.io}
spec:
  group: demo.skiff.io
  version: v1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {namespace: webhook-e2e, name: hook}
  caBundle: $CA
YAML
K wait --for=condition=Available apiservice/v1.demo.skiff.io --timeout=60s >/dev/null \
  || fail "APIService not Available: $(K get apiservice v1.demo.skiff.io -o yaml)"
K get apiservice v1.demo.skiff.io | grep -q 'webhook-e2e/hook  *True' || fail "APIService columns: $(K get apiservice v1.demo.skiff.io)"
# What an aggregated API server reads to trust the aggregator's X-Remote-User: the published
# requestheader settings, and a front-proxy client certificate signed by the published CA.
eaa() { K get configmap -n kube-system extension-apiserver-authentication -o jsonpath="{.data.$1}"; }
[ "$(eaa requestheader-allowed-names)" = '["front-proxy-client"]' ] \
  || fail "extension-apiserver-authentication: $(K get cm -n kube-system extension-apiserver-authentication -o yaml)"
[ "$(eaa requestheader-username-headers)" = '["X-Remote-User"]' ] || fail "requestheader-username-headers: $(eaa requestheader-username-headers)"
eaa requestheader-client-ca-file >"$D/front-proxy-ca.crt"
openssl verify -CAfile "$D/front-proxy-ca.crt" "/run/$NS/master/pki/front-proxy-client.crt" >/dev/null \
  || fail "front-proxy-client.crt is not signed by the published requestheader CA"
# What /apis says about demo.skiff.io in aggregated discovery (the document kubectl asks for).
aggregated_demo() {
  ip netns exec "$NS" python3 - "$KC" <<'PY'
import base64, http.client, json, ssl, sys, tempfile, yaml
kc = yaml.safe_load(open(sys.argv[1]))
u = kc["users"][0]["user"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with tempfile.NamedTemporaryFile("wb") as c, tempfile.NamedTemporaryFile("wb") as k:
    c.write(base64.b64decode(u["client-certificate-data"])); c.flush()
    k.write(base64.b64decode(u["client-key-data"])); k.flush()
    ctx.load_cert_chain(c.name, k.name)
server = kc["clusters"][0]["cluster"]["server"].split("//")[1]
conn = http.client.HTTPSConnection(server, context=ctx)
conn.request("GET", "/apis", headers={
    "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
doc = json.loads(conn.getresponse().read())
print([g for g in doc["items"] if g["metadata"]["name"] == "demo.skiff.io"])
PY
}
# Discovery of an aggregated API follows its availability, as kube-aggregator's: a client may
# need another look right after Available turns True. Each miss is logged with what kubectl
# asked and what the server holds.
seen=0
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if K api-resources -v=6 2>"$D/api-resources.log" | grep -qw gadgets; then seen=1; break; fi
  echo "api-resources attempt $attempt without gadgets; kubectl: $(grep -E 'GET|rror' "$D/api-resources.log" | tr '\n' ' ' | cut -c1-1500); server: $(aggregated_demo)" >&2
  sleep 1
done
[ "$seen" = 1 ] || fail "gadgets not in api-resources: $(aggregated_demo)"
got=$(K get gadgets -n default) || fail "kubectl get gadgets: $got"
grep -q '^g1  *green' <<<"$got" || fail "kubectl get gadgets printed: $got"
[ "$(K get gadgets -n default -o jsonpath='{.items[0].metadata.name}')" = g1 ] || fail "-o jsonpath through the proxy"
echo "$got"

echo "== CRD conversion webhook"
K apply -f - >/dev/null <<YAML || fail "apply the converting CRD"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.conv.skiff.io}
spec:
  group: conv.skiff.io
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Gizmo}
  versions:
  - name: v1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {hostPort: {type: string}}}}}}
  - name: v2
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {host: {type: string}, port: {type: string}}}}}}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1, v1beta1]
      clientConfig:
        service: {namespace: webhook-e2e, name: hook, path: /convert}
        caBundle: $CA
YAML
K wait --for=condition=Established crd/gizmos.conv.skiff.io --timeout=30s >/dev/null || fail "CRD not Established"
until_ok 30 K get gizmos.v1.conv.skiff.io -n default || fail "gizmos not served"
K apply -f - >/dev/null <<YAML || fail "create gizmos at v1"
apiVersion: conv.skiff.io/v1
kind: Gizmo
metadata: {name: g1, namespace: default}
spec: {hostPort: "localhost:8080"}
---
apiVersion: conv.skiff.io/v1
kind: Gizmo
metadata: {name: g2, namespace: default}
spec: {hostPort: "example.net:443"}
YAML
v2=$(K get gizmos.v2.conv.skiff.io g1 -n default -o jsonpath='{.apiVersion} {.spec.host} {.spec.port}')
[ "$v2" = "conv.skiff.io/v2 localhost 8080" ] || fail "g1 at v2: '$v2'"
v1=$(K get gizmos.v1.conv.skiff.io -n default -o jsonpath='{range .items[*]}{.apiVersion} {.spec.hostPort};{end}')
[ "$v1" = "conv.skiff.io/v1 localhost:8080;conv.skiff.io/v1 example.net:443;" ] || fail "gizmos at v1: '$v1'"
grep -c "POST /convert" "$D/server.log" | grep -qx '[1-9][0-9]*' || fail "no ConversionReview reached the server"
K patch gizmos.v1.conv.skiff.io g2 -n default --type=merge -p '{"spec":{"hostPort":"example.net:8443"}}' >/dev/null \
  || fail "patch g2 at v1"
[ "$(K get gizmos.v2.conv.skiff.io g2 -n default -o jsonpath='{.spec.port}')" = 8443 ] || fail "patched g2 not stored at v2"
stop_server
out=$(K get gizmos.v1.conv.skiff.io g1 -n default 2>&1) && fail "read at v1 with the converter down: $out"
grep -qF "Error from server: conversion webhook for conv.skiff.io/v2, Kind=Gizmo failed: Post \"https://hook.webhook-e2e.svc:443/convert\": " <<<"$out" \
  || fail "conversion failure message: $out"
echo "with the converter down: $out"
[ "$(K get gizmos.v2.conv.skiff.io g1 -n default -o jsonpath='{.spec.host}')" = localhost ] \
  || fail "the storage version needs no converter"
K delete crd gizmos.conv.skiff.io --timeout=60s >/dev/null || fail "delete the converting CRD"
echo "PASS"
