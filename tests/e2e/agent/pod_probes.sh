#!/usr/bin/env bash
# A liveness probe failure restarts the container; a readiness probe controls Ready.
. "$(dirname "$0")/lib.sh"
start_cluster
cat <<Y | k apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "touch /tmp/alive; sleep 3600"]
    livenessProbe: {exec: {command: ["cat", "/tmp/alive"]}, periodSeconds: 1, failureThreshold: 2}
    readinessProbe: {exec: {command: ["cat", "/tmp/ready"]}, periodSeconds: 1}
Y
ready() { kubectl get pod probed -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
until_ok 60 pod_running probed || fail "pod not Running"
step "not Ready until the readiness file exists"
sleep 3
[ "$(ready)" = False ] || fail "Ready=$(ready) before the readiness probe passes"
k exec probed -- touch /tmp/ready
until_ok 20 bash -c '[ "$(kubectl get pod probed -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]' ||
  fail "Ready did not turn True"
k exec probed -- rm /tmp/ready
until_ok 20 bash -c '[ "$(kubectl get pod probed -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = False ]' ||
  fail "Ready did not turn False"
step "liveness failure restarts the container"
k exec probed -- rm /tmp/alive
until_ok 40 bash -c '[ "$(kubectl get pod probed -o jsonpath="{.status.containerStatuses[0].restartCount}")" -ge 1 ]' ||
  fail "container not restarted after liveness failure"
step "kubelet events: Unhealthy and Killing"
ev=$(k describe pod probed | sed -n '/^Events:/,$p')
grep -Eq "Unhealthy .*Liveness probe failed: cat: can't open '/tmp/alive'" <<<"$ev" ||
  { echo "$ev"; fail "no Unhealthy liveness event"; }
grep -Eq "Unhealthy .*Readiness probe failed: " <<<"$ev" || { echo "$ev"; fail "no Unhealthy readiness event"; }
grep -Eq "Killing .*Container c failed liveness probe, will be restarted" <<<"$ev" ||
  { echo "$ev"; fail "no Killing event for the liveness restart"; }
echo PASS
