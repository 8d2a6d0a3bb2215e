#!/usr/bin/env bash
# A pod's mounted ServiceAccount token, used from the node's network namespace against the
# `kubernetes` Service (https://10.96.0.1), works with exactly its ServiceAccount's permissions,
# gets 401 once the pod is deleted, and is rotated (..data swapped) while the pod runs.
# Brings up scripts/quickstart under its own name with the built binaries.
#   SKIFF_SATOKEN_SKIP_ROTATION=1   skip the ~8 min rotation wait
set -euo pipefail
. "${SKIFF_SOURCE_DIR:?}/tests/e2e/quickstart/lib.sh" skiff-qs-satoken
# code TOKEN PATH -> HTTP status of GET https://10.96.0.1PATH from the node's namespace
code() { ip netns exec "$NS" curl -sk -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $1" "https://10.96.0.1$2"; }
running() { [ "$(K get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }

echo "== quickstart"
qs_up

echo "== kubectl create token"
T0=$(K create token default --duration=10m) || fail "create token"
[[ $T0 == eyJ* ]] || fail "create token printed '$T0'"
[ "$(code "$T0" /api)" = 200 ] || fail "a created token is not accepted on /api"
[ "$(code "garbage.$T0" /api)" = 401 ] || fail "a malformed token is not 401"
# One signature character changed (in the middle: the last one also carries padding bits).
n=$(( ${#T0} - 20 )); c=${T0:$n:1}; [ "$c" = A ] && r=B || r=A
bad="${T0:0:$n}$r${T0:$((n + 1))}"
body=$(ip netns exec "$NS" curl -sk --max-time 5 -H "Authorization: Bearer $bad" https://10.96.0.1/api)
grep -q '"message": *"Unauthorized"' <<<"$body" || fail "a bad signature did not get a plain Unauthorized: $body"
K create token default --duration=5m >/dev/null 2>&1 && fail "a 5 minute token was issued"

echo "== pod with the projected token"
pod_yaml tok --spec 'restartPolicy: Never' \
  --spec 'volumes: [{name: short, projected: {sources: [{serviceAccountToken: {path: token, expirationSeconds: 600}}]}}]' \
  '[sleep, "3600"]' 'volumeMounts: [{name: short, mountPath: /short}]' | K apply -f - >/dev/null || fail "create pod"
until_ok 90 running tok || fail "pod tok not Running: $(K get pod tok -o wide)"
vol=$(K get pod tok -o jsonpath='{.spec.volumes[*].name}')
grep -q 'kube-api-access-' <<<"$vol" || fail "no kube-api-access volume: $vol"
T=$(K exec tok -- cat /var/run/secrets/kubernetes.io/serviceaccount/token) || fail "no token file"
K exec tok -- cat /var/run/secrets/kubernetes.io/serviceaccount/ca.crt | grep -q 'BEGIN CERTIFICATE' \
  || fail "no ca.crt"
[ "$(K exec tok -- cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)" = default ] \
  || fail "namespace file"
K exec tok -- env | grep -q '^KUBERNETES_SERVICE_HOST=10.96.0.1$' || fail "no KUBERNETES_SERVICE_HOST"
K exec tok -- env | grep -q '^KUBERNETES_SERVICE_PORT=443$' || fail "no KUBERNETES_SERVICE_PORT"

echo "== the token's permissions are its ServiceAccount's"
[ "$(code "$T" /api)" = 200 ] || fail "discovery with the pod's token: $(code "$T" /api)"
[ "$(code "$T" /.well-known/openid-configuration)" = 200 ] || fail "issuer discovery"
ip netns exec "$NS" curl -sk --max-time 5 -H "Authorization: Bearer $T" \
  https://10.96.0.1/openid/v1/jwks | grep -q '"kty": *"RSA"' || fail "jwks"
pods=$(code "$T" /api/v1/namespaces/default/pods)
[ "$pods" = 403 ] || fail "listing pods without a binding gave $pods"
[ "$(code "$T" /api/v1/namespaces/kube-system/secrets)" = 403 ] || fail "secrets are readable"

if [ "${SKIFF_SATOKEN_SKIP_ROTATION:-0}" != 1 ]; then
  echo "== rotation: a 600 s token is replaced after 480 s"
  first=$(K exec tok -- readlink /short/..data)
  ST=$(K exec tok -- cat /short/token)
  until_ok 560 bash -c "[ \"\$(ip netns exec $NS kubectl --kubeconfig $KC exec tok -- readlink /short/..data)\" != '$first' ]" \
    || fail "the token was not rotated"
  ST2=$(K exec tok -- cat /short/token)
  [ -n "$ST2" ] && [ "$ST2" != "$ST" ] || fail "the rotated token is the same"
  [ "$(code "$ST2" /api)" = 200 ] || fail "the rotated token is refused"
  [ "$(K exec tok -- readlink /short/token)" = ..data/token ] || fail "the key is not a ..data link"
fi

echo "== deleting the pod kills its tokens"
K delete pod tok --wait=true --timeout=60s >/dev/null || fail "delete pod"
until_ok 20 bash -c "[ \"\$(ip netns exec $NS curl -sk -o /dev/null -w '%{http_code}' --max-time 5 -H 'Authorization: Bearer $T' https://10.96.0.1/api)\" = 401 ]" \
  || fail "the deleted pod's token still works"
[ "$(code "$T0" /api)" = 200 ] || fail "an unbound token died with the pod"
echo "PASS"
