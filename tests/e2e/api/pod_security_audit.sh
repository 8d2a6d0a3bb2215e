#!/usr/bin/env bash
# Pod Security admission and the audit log with the real kubectl (issue 19): a restricted
# namespace rejects a privileged pod with upstream's message, warn=baseline makes kubectl print
# its Warning: line for a Deployment with a hostPath volume, a bad label value is refused, and
# the audit log records a create with user, verb, resource, response code and the PSA
# annotations.
. "$(dirname "$0")/lib.sh"

cat >"$T/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/readyz*", "/healthz*", "/livez*", "/version", "/api*", "/openapi*"]
- level: None
  verbs: ["get", "list", "watch"]
- level: RequestResponse
  resources: [{group: "", resources: ["configmaps"]}]
- level: Metadata
YAML
start_master --audit-policy-file "$T/audit-policy.yaml" --audit-log-path "$T/audit/audit.log" \
  --audit-log-maxsize 1 --audit-log-maxbackup 2

# enforce=restricted: the privileged pod is refused with the upstream message.
k create namespace psa-r >/dev/null
k label namespace psa-r pod-security.kubernetes.io/enforce=restricted >/dev/null
out=$(k run priv -n psa-r --image=busybox --privileged --restart=Never -- true 2>&1) &&
  fail "privileged pod admitted: $out"
expect_has "$out" 'Error from server (Forbidden): pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "priv" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "priv" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "priv" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "priv" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "priv" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
k get pod priv -n psa-r >/dev/null 2>&1 && fail "a rejected pod was stored"

# A compliant pod is admitted in the same namespace.
cat >"$T/ok-pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: psa-r}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
out=$(k apply -f "$T/ok-pod.yaml" 2>&1)
expect_has "$out" "pod/ok created"
expect_not "$out" "Warning:"

# warn=baseline: kubectl prints the Warning line for a Deployment's hostPath template.
k create namespace psa-w >/dev/null
k label namespace psa-w pod-security.kubernetes.io/warn=baseline >/dev/null
cat >"$T/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: hp, namespace: psa-w}
spec:
  selector: {matchLabels: {app: hp}}
  template:
    metadata: {labels: {app: hp}}
    spec:
      containers: [{name: c, image: busybox}]
      volumes: [{name: host, hostPath: {path: /var/log}}]
YAML
out=$(k apply -f "$T/deploy.yaml" 2>&1)
expect_has "$out" 'Warning: would violate PodSecurity "baseline:latest": hostPath volumes (volume "host")'
expect_has "$out" "deployment.apps/hp created"

# An invalid level is refused on the namespace with upstream's message.
out=$(k label namespace psa-w pod-security.kubernetes.io/enforce=strict 2>&1) &&
  fail "invalid label accepted: $out"
expect_has "$out" 'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted'

# Making an existing namespace stricter warns about the pods already there.
k create namespace psa-x >/dev/null
k run hostnet -n psa-x --image=busybox --restart=Never \
  --overrides='{"spec":{"hostNetwork":true}}' -- true >/dev/null
out=$(k label namespace psa-x pod-security.kubernetes.io/enforce=baseline 2>&1)
expect_has "$out" 'Warning: existing pods in namespace "psa-x" violate the new PodSecurity enforce level "baseline:latest"'
expect_has "$out" 'Warning: hostnet: host namespaces'

# The audit log: the pod create, its user, verb, resource, code and PSA annotations.
k create configmap audited -n default --from-literal=k=v >/dev/null
log=""
for _ in $(seq 1 50); do
  log=$(cat "$T"/audit/audit*.log 2>/dev/null || true)
  grep -q '"name":"audited"' <<<"$log" && break
  sleep 0.1
done
# The controllers' and scheduler's own calls are audited too (the root-CA publisher's configmap
# creates are there from the start, the scheduler binds "ok"): wait for the event of the
# configmap created last (events are written in order), then pick kubectl's by its user agent.
# A grep that finds nothing must reach `fail`, not end the script through pipefail.
ok_line=$(grep '"stage":"ResponseComplete"' <<<"$log" | grep '"verb":"create"' | grep '"name":"ok"' |
  grep '"userAgent":"kubectl/' | head -1 || true)
[ -n "$ok_line" ] || fail "no audit event for the create of pod ok:"$'\n'"$log"
$PY - "$ok_line" <<'PY' || fail "audit event of the pod create"
import json, sys
e = json.loads(sys.argv[1])
assert e["kind"] == "Event" and e["apiVersion"] == "audit.k8s.io/v1", e
assert e["level"] == "Metadata", e
assert e["user"]["username"] == "kubernetes-admin", e
assert "system:masters" in e["user"]["groups"], e
assert e["verb"] == "create", e
assert e["objectRef"]["resource"] == "pods" and e["objectRef"]["namespace"] == "psa-r", e
assert e["responseStatus"]["code"] == 201, e
assert e["annotations"]["pod-security.kubernetes.io/enforce-policy"] == "restricted:latest", e
assert e["annotations"]["authorization.k8s.io/decision"] == "allow", e
assert "requestObject" not in e and "responseObject" not in e, e
assert e["sourceIPs"] == ["127.0.0.1"], e
assert e["userAgent"].startswith("kubectl/"), e
assert len(e["requestReceivedTimestamp"]) == len("2024-01-01T00:00:00.000000Z"), e
PY
denied=$(grep '"name":"priv"' <<<"$log" | grep '"userAgent":"kubectl/' | head -1 || true)
expect_has "$denied" '"code":403'
expect_has "$denied" '"reason":"Forbidden"'
cm=$(grep '"resource":"configmaps"' <<<"$log" | grep '"verb":"create"' | grep '"name":"audited"' |
  head -1 || true)
# The root-CA publisher's kube-root-ca.crt creates are in the log as its own requests.
expect_has "$log" '"username":"system:serviceaccount:kube-system:root-ca-cert-publisher"'

expect_has "$cm" '"requestObject":'
expect_has "$cm" '"responseObject":'
expect_not "$log" '"stage":"RequestReceived"' "audit log (RequestReceived is omitted)"
expect_not "$log" '"verb":"get"' "audit log (reads are at level None)"

# The Audit-Id response header names the request's event.
id=$(kcurl -si "$(api)/api/v1/namespaces/default/configmaps" -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"byid"},"data":{"a":"b"}}' | tr -d '\r' | sed -n 's/^[Aa]udit-[Ii]d: //p')
[ -n "$id" ] || fail "no Audit-Id header"
for _ in $(seq 1 50); do grep -q "\"auditID\":\"$id\"" "$T"/audit/audit*.log && break; sleep 0.1; done
grep -q "\"auditID\":\"$id\"" "$T"/audit/audit*.log || fail "no event with auditID $id"
echo "ok: pod security admission and audit log"
