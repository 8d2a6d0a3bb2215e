#!/usr/bin/env bash
# RBAC with the real kubectl: the bootstrap roles, a user bound to `view` in one namespace
# (lists pods there, the exact 403 for create and for other namespaces), `auth can-i` (with
# --list) and `auth whoami` agreeing with the decisions, escalation refused, impersonation only
# with the `impersonate` verb.
. "$(dirname "$0")/lib.sh"
cat >"$T/tokens.csv" <<'Y'
alicetoken,alice,u-alice,"dev"
bobtoken,bob,u-bob
Y
start_master --token-auth-file "$T/tokens.csv"
SRV="https://127.0.0.1:$PORT"
for u in alice bob; do
  kubectl --kubeconfig "$T/$u.kubeconfig" config set-cluster c --server "$SRV" \
    --certificate-authority "$T/data/pki/ca.crt" >/dev/null
  kubectl --kubeconfig "$T/$u.kubeconfig" config set-credentials "$u" --token "${u}token" >/dev/null
  kubectl --kubeconfig "$T/$u.kubeconfig" config set-context c --cluster c --user "$u" >/dev/null
  kubectl --kubeconfig "$T/$u.kubeconfig" config use-context c >/dev/null
done
ka() { timeout 20 kubectl --kubeconfig "$T/alice.kubeconfig" "$@"; }

# The bootstrap policy is served like any kind, with upstream's columns.
out=$(k api-resources --api-group=rbac.authorization.k8s.io)
expect_has "$out" "clusterrolebindings"
out=$(k get clusterrole cluster-admin admin edit view system:node-proxier)
expect_has "$out" "CREATED AT"
out=$(k get clusterrolebinding cluster-admin -o wide)
expect_has "$out" "ClusterRole/cluster-admin"
expect_has "$out" "system:masters"
# view is aggregated from system:aggregate-to-view by the controller.
for _ in $(seq 1 200); do
  [ -n "$(k get clusterrole view -o jsonpath='{.rules[0].verbs}')" ] && break; sleep 0.1
done
expect_has "$(k get clusterrole view -o jsonpath='{.rules[*].resources}')" "pods/log"
expect_eq "$(k auth can-i '*' '*')" "yes" "admin can-i"

# alice: view in team only.
k create namespace team >/dev/null
k create rolebinding alice-view -n team --clusterrole=view --user=alice >/dev/null
out=$(k get rolebinding alice-view -n team -o wide)
expect_has "$out" "ClusterRole/view"
expect_has "$out" "alice"
out=$(ka get pods -n team 2>&1); expect_has "$out" "No resources found in team namespace."
out=$(ka run x --image=busybox -n team 2>&1 || true)
expect_has "$out" 'Error from server (Forbidden): pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "team"'
out=$(ka get pods -n default 2>&1 || true)
expect_has "$out" 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
expect_eq "$(ka auth can-i list pods -n team)" "yes" "can-i list team"
expect_eq "$(ka auth can-i create pods -n team || true)" "no" "can-i create team"
expect_eq "$(ka auth can-i list pods -n default || true)" "no" "can-i list default"
expect_eq "$(ka auth can-i get pods --subresource=log -n team)" "yes" "can-i pods/log"
out=$(ka auth can-i --list -n team)
expect_has "$out" "pods/log"
expect_has "$out" "selfsubjectaccessreviews.authorization.k8s.io"
out=$(ka auth whoami)
expect_has "$out" "alice"
expect_has "$out" "[dev system:authenticated]"
# A review has no table form: a client that takes only a Table gets 406, as from kube-apiserver
# (conformance "Servers with support for Table transformation should return a 406 ...").
ssar='{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods"}}}'
ssar_code() {
  kcurl -o "$T/ssar" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H "Accept: $1" \
    -d "$ssar" "$(api)/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
}
expect_eq "$(ssar_code 'application/json;as=Table;v=v1;g=meta.k8s.io')" 406 "SSAR as Table only"
expect_has "$(cat "$T/ssar")" '"reason":"NotAcceptable"'
expect_has "$(cat "$T/ssar")" 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf'
expect_eq "$(ssar_code 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json')" 201 "SSAR Table or JSON"
expect_has "$(cat "$T/ssar")" '"kind":"SelfSubjectAccessReview"'
# The admin asks about alice (SubjectAccessReview through --as) and gets the same answers.
expect_eq "$(k auth can-i list pods -n team --as alice)" "yes" "as alice team"
expect_eq "$(k auth can-i list pods -n default --as alice || true)" "no" "as alice default"
expect_eq "$(k auth can-i create pods --as=system:serviceaccount:default:default || true)" "no" "sa"

# Escalation: alice may manage Roles in team (admin) but grants only what she holds.
k create rolebinding alice-admin -n team --clusterrole=admin --user=alice >/dev/null
out=$(ka create role ok -n team --verb=get --resource=pods 2>&1); expect_has "$out" "created"
out=$(ka create role big -n team --verb=create --resource=nodes 2>&1 || true)
expect_has "$out" 'roles.rbac.authorization.k8s.io "big" is forbidden: user "alice" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:'
expect_has "$out" '{APIGroups:[""], Resources:["nodes"], Verbs:["create"]}'
out=$(ka create rolebinding grab -n team --clusterrole=cluster-admin --user=alice 2>&1 || true)
expect_has "$out" "is attempting to grant RBAC permissions not currently held"
# roleRef is immutable.
out=$(k patch rolebinding alice-view -n team --type=merge -p '{"roleRef":{"name":"edit"}}' 2>&1 || true)
expect_has "$out" "cannot change roleRef"

# Impersonation: only with the verb.
out=$(ka get pods -n team --as bob 2>&1 || true)
expect_has "$out" 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope'
k create clusterrole imp --verb=impersonate --resource=users >/dev/null
k create clusterrolebinding alice-imp --clusterrole=imp --user=alice >/dev/null
out=$(ka get pods -n team --as bob 2>&1 || true)
expect_has "$out" 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "team"'
out=$(ka auth whoami --as bob); expect_has "$out" "bob"
out=$(ka get pods -n team --as bob --as-group system:masters 2>&1 || true)
expect_has "$out" 'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups"'

# A user through a CSR (kubernetes.io/kube-apiserver-client, `kubectl certificate approve`),
# bound to view in team: the same decisions as for a token user.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=dev/CN=carol" \
  -keyout "$T/carol.key" -out "$T/carol.csr" >/dev/null 2>&1
k create -f - >/dev/null <<Y
{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"carol"},
 "spec":{"signerName":"kubernetes.io/kube-apiserver-client","usages":["client auth"],"expirationSeconds":86400,
 "request":"$(base64 -w0 "$T/carol.csr")"}}
Y
expect_eq "$(k get csr carol -o jsonpath='{.status.certificate}')" "" "certificate before approval"
k certificate approve carol >/dev/null
expect_has "$(k get csr carol)" "Approved,Issued"
k get csr carol -o jsonpath='{.status.certificate}' | base64 -d >"$T/carol.crt"
kubectl --kubeconfig "$T/carol.kubeconfig" config set-cluster c --server "$SRV" \
  --certificate-authority "$T/data/pki/ca.crt" >/dev/null
kubectl --kubeconfig "$T/carol.kubeconfig" config set-credentials carol --client-certificate "$T/carol.crt" \
  --client-key "$T/carol.key" --embed-certs >/dev/null
kubectl --kubeconfig "$T/carol.kubeconfig" config set-context c --cluster c --user carol >/dev/null
kubectl --kubeconfig "$T/carol.kubeconfig" config use-context c >/dev/null
kc() { timeout 20 kubectl --kubeconfig "$T/carol.kubeconfig" "$@"; }
expect_has "$(kc auth whoami)" "[dev system:authenticated]"
out=$(kc get pods -n team 2>&1 || true)
expect_has "$out" 'pods is forbidden: User "carol" cannot list resource "pods" in API group "" in the namespace "team"'
k create rolebinding carol-view -n team --clusterrole=view --user=carol >/dev/null
out=$(kc get pods -n team 2>&1); expect_has "$out" "No resources found in team namespace."
out=$(kc create configmap x -n team 2>&1 || true)
expect_has "$out" 'configmaps is forbidden: User "carol" cannot create resource "configmaps" in API group "" in the namespace "team"'
expect_eq "$(kc auth can-i list pods -n kube-system || true)" "no" "carol kube-system"
# Nobody gets system:masters from this signer.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=system:masters/CN=mallory" \
  -keyout "$T/m.key" -out "$T/m.csr" >/dev/null 2>&1
out=$(k create -f - 2>&1 <<Y || true
{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"mallory"},
 "spec":{"signerName":"kubernetes.io/kube-apiserver-client","usages":["client auth"],
 "request":"$(base64 -w0 "$T/m.csr")"}}
Y
)
expect_has "$out" "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
echo "PASS"
