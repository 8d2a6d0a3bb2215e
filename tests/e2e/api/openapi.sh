#!/usr/bin/env bash
# OpenAPI for the built-in kinds: kubectl explain reads /openapi/v3 (and, asked for, the v2
# protobuf document); kubectl apply's --validate finds the fieldValidation parameter there and
# leaves the field checks to the server; an older kubectl reads the v2 protobuf document.
. "$(dirname "$0")/lib.sh"
start_master

out=$(k explain pods)
expect_has "$out" "KIND:       Pod"
expect_has "$out" "VERSION:    v1"
expect_has "$out" "Pod is a collection of containers that can run on a host."
expect_has "$out" "spec	<PodSpec>"
out=$(k explain deployment.spec.strategy.type)
expect_has "$out" "GROUP:      apps"
expect_has "$out" "Possible enum values:"
expect_has "$out" '"Recreate"'
out=$(k explain pods.spec.containers.ports)
expect_has "$out" "containerPort	<integer> -required-"
out=$(k explain pods --recursive)
expect_has "$out" "terminationMessagePolicy	<string>"
out=$(k explain customresourcedefinitions.spec.versions.schema)
expect_has "$out" "openAPIV3Schema	<JSONSchemaProps>"
out=$(k explain pods --output=plaintext-openapiv2)  # the v2 protobuf document
expect_has "$out" "Pod is a collection of containers"
out=$(k explain nosuchkind 2>&1 || true)
expect_has "$out" 'the server doesn'"'"'t have a resource type "nosuchkind"'

# The v3 index's hash is the document's SHA-512, as kube-openapi's.
url=$(k get --raw /openapi/v3 | $PY -c 'import json,sys; print(json.load(sys.stdin)["paths"]["apis/apps/v1"]["serverRelativeURL"])')
expect_has "$url" "/openapi/v3/apis/apps/v1?hash="
hash=$(k get --raw "/openapi/v3/apis/apps/v1" | sha512sum | awk '{print toupper($1)}')
expect_eq "${url#*hash=}" "$hash" "v3 document hash"

# kubectl apply --validate=strict: the server checks the fields (the message is the server's).
cat >"$T/bad.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: bad}
data: {a: b}
dta: {c: d}
Y
out=$(k apply --validate=strict -f "$T/bad.yaml" 2>&1 || true)
expect_has "$out" 'strict decoding error: unknown field "dta"'

# An older kubectl (1.27) reads the v2 protobuf document for explain and its checks.
old=$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.27
if [ -x "$old" ]; then
  out=$("$old" explain deployments.spec --output=plaintext-openapiv2)
  expect_has "$out" "DeploymentSpec is the specification of the desired behavior of the"
  expect_has "$out" "template	<Object> -required-"
  out=$("$old" apply --validate=strict -f "$T/bad.yaml" 2>&1 || true)
  expect_has "$out" 'unknown field "dta"'
  k create deployment web --image=busybox >/dev/null
  k get deploy web -o yaml | sed 's/replicas: 1/replicas: 3/' >"$T/web.yaml"
  out=$("$old" diff -f "$T/web.yaml" 2>&1 || true)
  expect_has "$out" "+  replicas: 3"
else
  echo "note: no kubectl.1.27 beside kubectl; old-client checks skipped"
fi
echo PASS
