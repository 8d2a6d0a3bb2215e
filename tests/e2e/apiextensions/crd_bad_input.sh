#!/usr/bin/env bash
# Bad CustomResourceDefinitions and custom objects get clear Status errors and the server keeps
# serving: a non-structural schema, a name that is not <plural>.<group>, two storage versions,
# conflicting names (NamesAccepted=False), a 10 MB object.
. "$(dirname "$0")/../api/lib.sh"
start_master
crd() {  # crd NAME GROUP PLURAL KIND [SPEC-TYPE-LINE]
  cat <<Y
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $1}
spec:
  group: $2
  scope: Namespaced
  names: {plural: $3, kind: $4}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {${5:-type: object}, properties: {a: {type: string}}}
Y
}
crd things.example.com example.com things Thing "description: no type" >"$T/nonstructural.yaml"
out=$(k apply -f "$T/nonstructural.yaml" 2>&1 || true)
expect_has "$out" 'spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields'
crd things.wrong.com example.com things Thing >"$T/badname.yaml"
out=$(k apply -f "$T/badname.yaml" 2>&1 || true)
expect_has "$out" 'metadata.name: Invalid value: "things.wrong.com": must be spec.names.plural+"."+spec.group'
{ crd things.example.com example.com things Thing
  echo '  - {name: v2, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}'
} >"$T/twostorage.yaml"
out=$(k apply -f "$T/twostorage.yaml" 2>&1 || true)
expect_has "$out" 'spec.versions: Invalid value: "<value omitted>": must have exactly one version marked as storage version'
# Conflicting names: the second CRD's kind is already in use in the group.
crd things.example.com example.com things Thing | k apply -f - >/dev/null
k wait --for condition=established crd/things.example.com --timeout=30s >/dev/null
crd others.example.com example.com others Thing | k apply -f - >/dev/null
for _ in $(seq 1 50); do
  r=$(k get crd others.example.com -o jsonpath='{.status.conditions[?(@.type=="NamesAccepted")].reason}')
  [ "$r" = SingularConflict ] && break; sleep 0.2
done
expect_eq "$r" SingularConflict "NamesAccepted reason (the singular defaults to the lower-case kind)"
expect_has "$(k get crd others.example.com -o jsonpath='{.status.conditions[?(@.type=="NamesAccepted")].message}')" '"thing" is already in use'
out=$(k get others 2>&1 || true); expect_has "$out" "the server doesn't have a resource type"
# A 10 MB object: refused with 413, nothing stored, the server keeps serving.
$PY - "$T/big.json" <<'PY'
import json, sys
json.dump({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "big"},
           "spec": {"a": "x" * (10 * 1024 * 1024)}}, open(sys.argv[1], "w"))
PY
out=$(kcurl -X POST -H 'Content-Type: application/json' --data-binary @"$T/big.json" \
  "$(api)/apis/example.com/v1/namespaces/default/things")
expect_has "$out" '"code":413'
out=$(k get things 2>&1); expect_has "$out" "No resources found"
k get --raw /readyz >/dev/null
# x-kubernetes-validations (CEL) is accepted, and every write says the rules were not enforced.
crd gizmos.example.com example.com gizmos Gizmo \
  "type: object, x-kubernetes-validations: [{rule: \"self.a != 'x'\"}]" | k apply -f - >/dev/null
k wait --for condition=established crd/gizmos.example.com --timeout=30s >/dev/null
printf 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {a: ok}\n' >"$T/g1.yaml"
out=$(k apply -f "$T/g1.yaml" 2>&1)
expect_has "$out" "Warning: x-kubernetes-validations rules are not enforced by this server (no CEL): spec: self.a != 'x'"
expect_has "$out" "gizmo.example.com/g1 created"
echo PASS
