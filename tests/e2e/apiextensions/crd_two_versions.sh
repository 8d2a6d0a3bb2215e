#!/usr/bin/env bash
# A CRD with two versions (conversion None), a schema with defaults, printer columns, status and
# scale subresources, driven by the real kubectl: validation text, defaulting, pruning, columns,
# watch, scale, explain, and deleting the CRD removes its objects and its kind.
. "$(dirname "$0")/../api/lib.sh"
start_master
cat >"$T/crd.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1, maximum: 10, default: 3, description: How big the widget is.}
              color: {type: string, enum: [red, blue]}
              replicas: {type: integer}
          status:
            type: object
            properties:
              ready: {type: boolean}
              replicas: {type: integer}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
Y
out=$(k apply -f "$T/crd.yaml" 2>&1); expect_has "$out" "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
k wait --for condition=established crd/widgets.example.com --timeout=30s >/dev/null
out=$(k get crd widgets.example.com -o jsonpath='{.status.acceptedNames.kind} {.status.storedVersions} {.status.conditions[?(@.type=="NamesAccepted")].reason}')
expect_eq "$out" 'Widget ["v1"] NoConflicts' "CRD status"
# Discovery sees the kind without a restart.
out=$(k api-resources --api-group=example.com); expect_has "$out" "widgets" ; expect_has "$out" "wdg"
# Defaults, validation with upstream's text, pruning.
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {color: red}\n' >"$T/w1.yaml"
out=$(k apply -f "$T/w1.yaml" 2>&1); expect_has "$out" "widget.example.com/w1 created"
expect_eq "$(k get widget w1 -o jsonpath='{.spec.size}')" 3 "defaulted size"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {color: red, size: 20}\n' >"$T/w2.yaml"
out=$(k apply -f "$T/w2.yaml" 2>&1 || true)
expect_has "$out" 'The Widget "w2" is invalid: spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10'
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {color: blue, extra: x}\n' >"$T/w3.yaml"
out=$(k apply --validate=false -f "$T/w3.yaml" 2>&1); expect_has "$out" "widget.example.com/w3 created"
out=$(k get widget w3 -o json); expect_has "$out" '"color": "blue"'; expect_not "$out" '"extra"'
# Strict field validation reports the field the schema does not declare.
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w5}\nspec: {color: blue, extra: x}\n' >"$T/w5.yaml"
out=$(k apply --validate=strict -f "$T/w5.yaml" 2>&1 || true); expect_has "$out" 'unknown field "spec.extra"'
# Columns (by short name), the other version, the status subresource, scale.
out=$(k get wdg); expect_has "$out" "SIZE"; expect_has "$out" "COLOR"
expect_has "$(k get wdg w1 --no-headers | tr -s ' ')" "w1 3 red"
expect_eq "$(k get widgets.v1beta1.example.com w1 -o jsonpath='{.apiVersion}')" "example.com/v1beta1" "v1beta1 view"
k patch widget w1 --subresource=status --type=merge -p '{"status":{"ready":true,"replicas":1}}' >/dev/null
expect_eq "$(k get widget w1 -o jsonpath='{.status.ready}')" true "status written"
k patch widget w1 --type=merge -p '{"status":{"ready":false}}' >/dev/null
expect_eq "$(k get widget w1 -o jsonpath='{.status.ready}')" true "status not written through the main resource"
out=$(k scale widget w1 --replicas=4 2>&1); expect_has "$out" "widget.example.com/w1 scaled"
expect_eq "$(k get widget w1 -o jsonpath='{.spec.replicas}')" 4 "scaled replicas"
# Watch: a change arrives on a running watch.
k get widgets -w -o name >"$T/watch.out" 2>&1 & EXTRA_PIDS+=($!)
sleep 1
k label widget w3 seen=yes >/dev/null
for _ in $(seq 1 30); do grep -q w3 "$T/watch.out" && break; sleep 0.2; done
expect_has "$(cat "$T/watch.out")" "widget.example.com/w3"
# Field selectors on metadata.name.
expect_eq "$(k get widgets --field-selector metadata.name=w3 -o name)" "widget.example.com/w3" "field selector"
# explain reads /openapi/v3.
out=$(k explain widget.spec.size 2>&1); expect_has "$out" "integer"; expect_has "$out" "How big the widget is."
# Deleting the CRD deletes its objects and the kind.
k delete crd widgets.example.com --timeout=60s >/dev/null
# (kubectl's discovery cache may still name the kind: then the list itself is a 404.)
if k get widgets >/dev/null 2>&1; then fail "widgets still served after the CRD was deleted"; fi
out=$(k api-resources --api-group=example.com 2>&1); expect_not "$out" "widgets"
out=$(k get --raw /apis/example.com/v1/namespaces/default/widgets 2>&1 || true); expect_has "$out" "NotFound"
echo PASS
