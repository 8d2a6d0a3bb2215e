#!/usr/bin/env bash
# Manifests as three well-known projects publish them (manifests/README.md: ingress-nginx,
# prometheus-operator's CRDs, Argo CD's CRD and application controller), applied unchanged with the
# real kubectl, client-side and server-side: every object is created, reads back with every field
# the manifest sets at the value it sets (defaults may add fields), a second apply creates nothing
# and fails nothing, and a custom resource is validated by its CRD's Go-syntax pattern.
. "$(dirname "$0")/../api/lib.sh"
D=$(dirname "$0")/manifests
start_master

out=$(k apply -f "$D/ingress-nginx/deploy.yaml" 2>&1) || fail "kubectl apply ingress-nginx: $out"
expect_has "$out" "validatingwebhookconfiguration.admissionregistration.k8s.io/ingress-nginx-admission created"
expect_has "$out" "ingressclass.networking.k8s.io/nginx created"
out=$(k apply -f "$D/prometheus-operator/" 2>&1) || fail "kubectl apply prometheus-operator CRDs: $out"
expect_has "$out" "customresourcedefinition.apiextensions.k8s.io/prometheusrules.monitoring.coreos.com created"
k create namespace argocd >/dev/null
out=$(k apply -n argocd -f "$D/argo-cd/" 2>&1) || fail "kubectl apply argo-cd: $out"
expect_has "$out" "statefulset.apps/argocd-application-controller created"
echo "applied: $(find "$D" -name '*.yaml' | wc -l) files"

# Every object reads back with what its manifest says (the manifest is a subset of the object).
$PY - "$D" <<'PY' || fail "objects do not read back as applied"
import json, os, subprocess, sys, yaml
root = sys.argv[1]
def subset(want, got, path):
    if want is None:  # `data: null` and the like: nothing asked for
        return []
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: want an object, got {got!r}"]
        errs = []
        for k, v in want.items():
            if v is None or v == {} or v == []:
                continue  # empty values are not stored (as kube-apiserver)
            if k not in got:
                errs.append(f"{path}.{k}: missing")
            else:
                errs += subset(v, got[k], f"{path}.{k}")
        return errs
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: want {len(want)} items, got {got!r}"]
        return [e for i, (w, g) in enumerate(zip(want, got)) for e in subset(w, g, f"{path}[{i}]")]
    if want != got and str(want) != str(got):
        return [f"{path}: want {want!r}, got {got!r}"]
    return []
checked, errs = 0, []
for dirpath, _, files in os.walk(root):
    for f in sorted(files):
        if not f.endswith(".yaml"):
            continue
        ns_flag = ["-n", "argocd"] if dirpath.endswith("argo-cd") else []
        for doc in yaml.safe_load_all(open(os.path.join(dirpath, f))):
            if not doc:
                continue
            kind, meta = doc["kind"], doc["metadata"]
            group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
            res = kind.lower() + ("." + group if group else "")
            ns = ["-n", meta["namespace"]] if "namespace" in meta else ns_flag
            live = json.loads(subprocess.check_output(
                ["kubectl", "get", res, meta["name"], "-o", "json"] + ns))
            errs += subset(doc, live, f"{f}:{kind}/{meta['name']}")
            checked += 1
print(f"{checked} objects read back as applied")
for e in errs[:20]:
    print("  " + e)
sys.exit(1 if errs or checked < 30 else 0)
PY

# A second apply changes nothing it need not and creates nothing.
out=$(k apply -f "$D/ingress-nginx/deploy.yaml" -f "$D/prometheus-operator/" 2>&1) || fail "second apply: $out"
expect_not "$out" " created"
out=$(k apply -n argocd -f "$D/argo-cd/" 2>&1) || fail "second apply argo-cd: $out"
expect_not "$out" " created"
# Server-side apply of the same CRDs as a second manager: no conflict (the values are equal).
out=$(k apply --server-side -f "$D/prometheus-operator/" 2>&1) || fail "server-side apply: $out"
expect_has "$out" "prometheusrules.monitoring.coreos.com serverside-applied"

# The CRD serves its kind, and its pattern is a Go regexp: ^(?i)(abort|warn)?$
k wait --for condition=established --timeout=20s crd/prometheusrules.monitoring.coreos.com >/dev/null
rule() {
  cat <<Y
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: $1}
spec:
  groups:
  - name: g
    partial_response_strategy: $2
    rules: [{alert: Down, expr: up == 0, for: 5m}]
Y
}
rule warn-rule WARN | k apply -f - >/dev/null || fail "a PrometheusRule with partial_response_strategy WARN was refused"
out=$(rule bad-rule never | k apply -f - 2>&1) && fail "partial_response_strategy 'never' was accepted"
expect_has "$out" 'spec.groups[0].partial_response_strategy: Invalid value: "never": spec.groups[0].partial_response_strategy in body should match '"'^(?i)(abort|warn)?\$'"
expect_eq "$(k get prometheusrule warn-rule -o jsonpath='{.spec.groups[0].rules[0].for}')" "5m" "stored rule"
echo "published manifests: OK"
