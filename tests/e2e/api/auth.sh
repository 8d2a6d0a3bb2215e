#!/usr/bin/env bash
# Authentication and authorization: static tokens, bootstrap tokens joining through an
# auto-approved node CSR, the Node authorizer's limits, 401 and 403 as kubectl prints them.
. "$(dirname "$0")/lib.sh"
cat >"$T/tokens.csv" <<'Y'
admintoken,ops,1,"system:masters"
alicetoken,alice,2
Y
start_master --token-auth-file "$T/tokens.csv"
SRV="https://127.0.0.1:$PORT"
printf 'apiVersion: v1\nkind: Config\n' >"$T/empty.kubeconfig"
kt() { timeout 20 kubectl --kubeconfig="$T/empty.kubeconfig" --server "$SRV" --certificate-authority "$T/data/pki/ca.crt" "$@"; }
out=$(kt --token admintoken get ns); expect_has "$out" "kube-system"
out=$(kt --token alicetoken get pods 2>&1 || true)
expect_has "$out" 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
out=$(kt --token nope get pods 2>&1 || true); expect_has "$out" "You must be logged in to the server"
# Anonymous (--anonymous-auth, on by default as in kube-apiserver): /version and health are
# public (system:public-info-viewer), the rest is 403 for system:anonymous (kubectl would prompt
# for a password without credentials, so curl asks here).
out=$(curl -sS --cacert "$T/data/pki/ca.crt" "$SRV/version"); expect_has "$out" "v1.32.0"
out=$(curl -sS --cacert "$T/data/pki/ca.crt" "$SRV/api/v1/pods")
expect_has "$out" '"code":403'
expect_has "$out" 'pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\"'

# Bootstrap token -> CSR (auto-approved for system:bootstrappers) -> node client certificate.
k create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"bootstrap-token-abcdef","namespace":"kube-system"},
 "type":"bootstrap.kubernetes.io/token",
 "stringData":{"token-id":"abcdef","token-secret":"0123456789abcdef","usage-bootstrap-authentication":"true"}}
Y
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=system:nodes/CN=system:node:n1" \
  -keyout "$T/n1.key" -out "$T/n1.csr" >/dev/null 2>&1
cat >"$T/csr.json" <<Y
{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"node-csr-n1"},
 "spec":{"signerName":"kubernetes.io/kube-apiserver-client-kubelet","usages":["digital signature","client auth"],
 "request":"$(base64 -w0 "$T/n1.csr")"}}
Y
kt --token abcdef.0123456789abcdef create -f "$T/csr.json" >/dev/null
out=$(kt --token abcdef.0123456789abcdef get csr node-csr-n1 -o jsonpath='{.status.conditions[0].type}')
expect_eq "$out" "Approved" "csr approval"
kt --token abcdef.0123456789abcdef get csr node-csr-n1 -o jsonpath='{.status.certificate}' | base64 -d >"$T/n1.crt"
out=$(kt --token abcdef.0123456789abcdef get ns 2>&1 || true); expect_has "$out" "Forbidden"
out=$(kt --token abcd00.0123456789abcdef get ns 2>&1 || true); expect_has "$out" "You must be logged in"
kn() { kt --client-certificate "$T/n1.crt" --client-key "$T/n1.key" "$@"; }
kn create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}
Y
out=$(kn create -f - 2>&1 <<'Y' || true
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}
Y
); expect_has "$out" 'nodes "n2" is forbidden: User "system:node:n1" cannot create resource "nodes"'
k create secret generic private --from-literal=a=b >/dev/null
out=$(kn get secret private 2>&1 || true); expect_has "$out" "Forbidden"
k create -f - >/dev/null <<'Y'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"x","envFrom":[{"secretRef":{"name":"private"}}]}]}}
Y
out=$(kn get secret private -o name); expect_eq "$out" "secret/private" "node reads a secret its pod uses"
out=$(kn get pods -A --field-selector spec.nodeName=n1 -o name); expect_eq "$out" "pod/p" "node lists its pods"
k create ns kube-node-lease --dry-run=client -o name >/dev/null
kn create -f - >/dev/null <<'Y'
{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"n1","leaseDurationSeconds":40}}
Y
out=$(kn -n kube-node-lease get lease n1 -o jsonpath='{.spec.holderIdentity}'); expect_eq "$out" "n1" "lease"
echo PASS
